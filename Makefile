# The two set-up commands of the README: `make demo` and `make test`. Each sets up what it needs.
VENV := .venv
PY := $(VENV)/bin/python
export ESCPOS_CAPABILITIES_PICKLE_DIR := $(CURDIR)/.venv/escpos-cache

.PHONY: setup demo test lint typecheck pytest bench soak clean

setup:
	@tools/bootstrap.sh

demo: setup
	$(VENV)/bin/hallq demo $(DEMO_ARGS)

test: setup lint typecheck pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy

pytest:
	$(PY) -m pytest $(PYTEST_ARGS)

# Each bench prints its figures, a bare baseline measured in the same run, and the ratio.
bench: setup
	$(PY) bench/engine.py
	$(PY) bench/print.py
	$(PY) bench/latency.py
	$(PY) bench/throughput.py
	$(PY) bench/publish.py
	$(PY) bench/voice.py
	$(PY) bench/display.py
	$(PY) bench/metrics.py
	$(PY) bench/report.py --keep
	$(PY) bench/monitor.py

# A month of the prefecture hall and 30,000 refused requests (~10 minutes): memory and restart.
soak: setup
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis artifacts
