"""Who may import whom: the contract stands alone, and no device imports the hall's engine, store or
service. Read from the source (every import statement, also those inside functions), so a lazy
import cannot slip past."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEVICE_PACKAGES = ("kiosk", "display", "terminal", "hardware", "voice", "monitor")
HALL_INSIDES = ("hall.engine", "hall.store", "hall.service", "hall.core")


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
