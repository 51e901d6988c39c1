"""Who may import whom: the contract stands alone, and no device imports the hall's engine, store or
service. Read from the source (every import statement, also those inside functions), so a lazy
import cannot slip past."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEVICE_PACKAGES = ("kiosk", "display", "terminal", "screens", "hardware", "voice", "monitor")
HALL_INSIDES = ("hall.engine", "hall.store", "hall.service", "hall.tools", "hall.reports")


def imports_of(package: str) -> dict[str, set[str]]:
    """Every module a package's files import, by file."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_contract_imports_nothing_of_the_hall_or_the_devices() -> None:
    bad = {
        file: sorted(n for n in names if under(n, "hall") or n.split(".")[0] in DEVICE_PACKAGES)
        for file, names in imports_of("contract").items()
    }
    assert not {f: n for f, n in bad.items() if n}


@pytest.mark.parametrize("package", [p for p in DEVICE_PACKAGES if (ROOT / p).is_dir()])
def test_devices_never_import_the_engine_the_store_or_the_service(package: str) -> None:
    bad = {
        file: sorted(n for n in names if any(under(n, inside) for inside in HALL_INSIDES))
        for file, names in imports_of(package).items()
    }
    assert not {f: n for f, n in bad.items() if n}


# The hall's layers, bottom up (docs/architecture.md "The hall's layers"): each may import the
# ones before it and itself, never one after it. The tools and the reports stand apart: the server
# never imports them.
HALL_LAYERS = {
    "hall.config": {"hall.config"},
    "hall.engine": {"hall.config", "hall.engine"},
    "hall.store": {"hall.config", "hall.engine", "hall.store"},
    "hall.service": {"hall.config", "hall.engine", "hall.store", "hall.service"},
    "hall.reports": {"hall.config", "hall.engine", "hall.store", "hall.reports"},
    "hall.tools": {"hall.config", "hall.engine", "hall.store", "hall.service", "hall.tools"},
}


def layer_of(name: str) -> str | None:
    return next((layer for layer in HALL_LAYERS if under(name, layer)), None)


def test_hall_modules_all_live_in_a_layer_folder() -> None:
    loose = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "hall").glob("*.py") if p.name != "__init__.py"
    )
    assert not loose, f"put these in one of {sorted(HALL_LAYERS)}"


@pytest.mark.parametrize("layer", sorted(HALL_LAYERS))
def test_each_hall_layer_imports_only_those_below_it(layer: str) -> None:
    allowed = HALL_LAYERS[layer]
    bad = {
        file: sorted(
            n for n in names if under(n, "hall") and n != "hall" and layer_of(n) not in allowed
        )
        for file, names in imports_of(layer.replace(".", "/")).items()
    }
    assert not {f: n for f, n in bad.items() if n}
