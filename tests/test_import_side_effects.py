"""No import-time side effects (issue 12): importing any module of the project leaves the
environment, the root logger, the signal handlers and the working folder as they were. Set-up is an
explicit call (hardware/printer/_escpos.py `setup()`, screens/kivy_setup.py `kivy_environment()`).

Each module is imported in one fresh interpreter, one after the other, and the state compared around
each import, so a failure names the module that did it. Kivy is kept out: its widget modules import
it at their top, by design only after `kivy_environment()` (and Kivy's own import has effects).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from hardware.printer import _escpos

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "contract",
    "hall",
    "hallq",
    "kiosk",
    "display",
    "terminal",
    "screens",
    "hardware",
    "voice",
    "monitor",
)

PROBE = r"""
import importlib, importlib.abc, json, logging, os, signal, sys

class NoKivy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "kivy":
            raise ImportError("kivy is kept out of this test")
        return None

sys.meta_path.insert(0, NoKivy())
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGCHLD)

def state():
    root = logging.getLogger()
    return {
        "os.environ": dict(os.environ),
        "root logger handlers": [repr(h) for h in root.handlers],
        "root logger filters": [repr(f) for f in root.filters],
        "root logger level": root.level,
        "logging.disable": logging.root.manager.disable,
        "signal handlers": [repr(signal.getsignal(s)) for s in SIGNALS],
        "working folder": os.getcwd(),
    }

report = {"changed": {}, "kivy": [], "failed": {}}
for name in json.loads(sys.argv[1]):
    before = state()
    try:
        importlib.import_module(name)
    except ImportError as exc:
        if "kivy is kept out" in str(exc):
            report["kivy"].append(name)
            continue
        report["failed"][name] = repr(exc)
        continue
    except Exception as exc:
        report["failed"][name] = repr(exc)
        continue
    after = state()
    changed = {}
    for what, was in before.items():
        now = after[what]
        if what == "os.environ":
            keys = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
            if keys:
                changed[what] = keys
        elif was != now:
            changed[what] = [repr(was), repr(now)]
    if changed:
        report["changed"][name] = changed
print(json.dumps(report))
"""


def project_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":  # `python -m`'s entry: running it is its purpose
                continue
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imports_kivy_at_top(module: str) -> bool:
    """The module's own top level imports Kivy (a widget module), or one that does."""
    base = ROOT.joinpath(*module.split("."))
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "kivy":
                return True
            ours = name.split(".")[0] in PACKAGES and name != module and _is_module(name)
            if ours and imports_kivy_at_top(name):
                return True
    return False


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def test_importing_any_module_of_the_project_changes_nothing_around_it() -> None:
    modules = project_modules()
    assert "hardware.printer._escpos" in modules and "hall.service.service" in modules
    env = {
        key: value
        for key, value in os.environ.items()
        # Unset, so that a module that sets it at import is seen doing so.
        if key != _escpos.PICKLE_DIR_VARIABLE
    }
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # bounds a hang only
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["changed"] == {}, "modules that change the process when imported"
    assert report["failed"] == {}, "modules that cannot be imported"
    assert report["kivy"], "the Kivy widget modules were seen"
    assert [m for m in report["kivy"] if not imports_kivy_at_top(m)] == []
