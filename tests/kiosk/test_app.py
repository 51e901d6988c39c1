"""The kiosk app in real Kivy windows (Xvfb): every screen in both orientations, both languages and
large type, each screenshot saved under artifacts/kiosk/, checked not blank, and every character it
drew checked against the font's character map. The hall is a fake here (what is drawn is the point);
tests/kiosk/test_app_hall.py runs the kiosk against a real hall, broker and printer emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hall.config.schema import load_config
from hall.engine.engine import Engine
from tests.fixtures.screen import ARTIFACTS, colours, missing_glyphs, xvfb

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("kiosk_driver.py")
EXAMPLE = ROOT / "deploy/examples/prefecture-hall.toml"


def every_screen(language: str, large: bool) -> list[list[Any]]:
    """Touches that visit every screen, with a screenshot of each."""
    tag = f"{language}{'_large' if large else ''}"
    department = "州公安局" if language == "zh" else "Public Security"
    service = "户口迁入" if language == "zh" else "move-in"
    search = "搜索" if language == "zh" else "Search"
    booking = "预约签到" if language == "zh" else "Booking"
    back = "返回" if language == "zh" else "Back"
    regular = "普通取号" if language == "zh" else "regular"
    return [
        ["shot", f"home_{tag}"],
        ["tap", department],
        ["shot", f"department_{tag}"],
        ["tap", service],
        ["until_screen", "priority", 5],
        ["shot", f"priority_{tag}"],
        ["tap", regular],
        ["until_screen", "ticket", 5],
        ["shot", f"ticket_{tag}"],
        ["tap", "首页" if language == "zh" else "Home"],
        ["tap", search],
        *[["tap", key.upper()] for key in "hkqr"],
        ["shot", f"search_{tag}"],
        ["tap", back],
        ["tap", booking],
        *[["tap", key] for key in "2024"],
        ["shot", f"booking_{tag}"],
        ["tap", back],
    ]


def script() -> list[list[Any]]:
    steps: list[list[Any]] = []
    steps += every_screen("zh", large=False)
    steps += [["tap", "大字模式"]]
    steps += every_screen("zh", large=True)
    steps += [["tap", "English"]]
    steps += every_screen("en", large=True)
    steps += [["tap", "Normal text"]]
    steps += every_screen("en", large=False)
    return steps


@pytest.fixture(scope="module")
def hall_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example prefecture hall's retained catalog and queues, with people waiting."""
    folder = tmp_path_factory.mktemp("kiosk-hall")
    engine = Engine(load_config(EXAMPLE))
    queues = engine.queues(datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    for number, state in enumerate(queues["services"].values()):
        if state["can_issue"]:
            state["waiting"], state["est_wait_min"] = number % 13, (number % 13) * 4
    catalog_path, queues_path = folder / "catalog.json", folder / "queues.json"
    catalog_path.write_text(json.dumps(engine.catalog(), ensure_ascii=False), encoding="utf-8")
    queues_path.write_text(json.dumps(queues, ensure_ascii=False), encoding="utf-8")
    return catalog_path, queues_path


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_every_screen_both_languages_and_large_type(
    orientation: str, hall_data: tuple[Path, Path], tmp_path: Path
) -> None:
    out = ARTIFACTS / "kiosk" / orientation
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps(script(), ensure_ascii=False), encoding="utf-8")
    size = (1080, 1920) if orientation == "portrait" else (1920, 1080)
    command = [sys.executable, str(DRIVER), "--script", str(steps), "--out", str(out), "--priority"]
    command += ["--fake", *map(str, hall_data)]
    if orientation == "landscape":
        command.append("--landscape")
    with xvfb(*size) as display:
        env = {**os.environ, "DISPLAY": display, "KIVY_HOME": str(tmp_path / "kivy")}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert done.returncode == 0 and not result["errors"], (result["errors"], done.stderr[-3000:])
    expected = {"home", "department", "priority", "ticket", "search", "booking"}
    assert {name.split("_")[0] for name in result["shots"]} == expected
    assert len(result["shots"]) == 4 * len(expected)
    for name, path in result["shots"].items():
        assert colours(Path(path)) > 20, f"{name}: the screenshot looks blank"
        assert not missing_glyphs(result["texts"][name]), (
            name,
            missing_glyphs(result["texts"][name]),
        )
    # The search found the service by its initials, in both languages.
    assert any("户口迁入" in text for text in result["texts"]["search_zh"])
