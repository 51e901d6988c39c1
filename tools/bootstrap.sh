#!/usr/bin/env bash
# Makes this checkout ready to run: the Debian packages hallq's tests and demo need (only those
# missing), a virtual environment in .venv, hallq installed into it with every extra, and the wheels of
# all it installed kept in .venv/wheels (an install with no network starts from them).
# Safe to run again: it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(mosquitto mosquitto-clients xvfb xauth fonts-wqy-microhei espeak-ng socat zbar-tools sox
                 matchbox-window-manager imagemagick prometheus
                 libmtdev1 openssl sqlite3 python3-venv systemd)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Installing mosquitto may start the system's broker on 1883; hallq starts its own brokers, so the
# system one is left alone (the demo and tests pick free ports).
# Installing prometheus (tests/hall/service/test_metrics_prometheus.py and promtool check the shipped
# deploy/prometheus files) starts Debian's own Prometheus on 9090 and its node exporter on 9100
# where systemd runs: the tests start their own on free ports, so stop and disable those.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for unit in prometheus.service prometheus-node-exporter.service; do
    if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
      echo "bootstrap: stopping and disabling $unit (tests start their own Prometheus)"
      SUDO=""
      [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    fi
  done
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.hallq-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing hallq and its Python dependencies into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[all]"
  touch "$stamp"
fi
# Keep the wheels of everything installed above, and of the tools that build hallq's own wheel, in
# .venv/wheels: with them hallq installs with no network (deploy/install.sh --from; the test of it
# in tests/deploy/ fills its folder from here without a network).
wheels=.venv/wheels
if [ ! -f "$wheels/.complete" ] || [ pyproject.toml -nt "$wheels/.complete" ]; then
  echo "bootstrap: keeping the wheels of hallq's dependencies in $wheels"
  .venv/bin/pip wheel -q --wheel-dir "$wheels" ".[all]" "setuptools>=68" wheel
  rm -f "$wheels"/hallq-*.whl  # hallq's own wheel is built from the checkout when it is needed
  touch "$wheels/.complete"
fi
