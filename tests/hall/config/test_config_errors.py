"""Every kind of config mistake is reported with the file, the key and what to change.

Each case edits the small example hall's text the way a person editing the file would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hall.config.schema import ConfigError, load_config

SMALL = Path(__file__).resolve().parents[3] / "deploy" / "examples" / "small-hall.toml"


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SMALL.read_text(encoding="utf-8")
    assert old in text, f"the example no longer contains {old!r}"
    path = tmp_path / "hall.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    # Every line names the file first.
    assert all(line.startswith(f"{path}: ") for line in message.splitlines()), message
    return message


# (what is wrong, text to replace, replacement, the key named, words that say what to change)
CASES = [
    (
        "unknown key",
        'language = "zh"',
        'language = "zh"\nlangauge = "en"',
        "site.langauge",
        "unknown key: remove it or check its spelling",
    ),
    (
        "missing key",
        'prefix = "A"\n',
        "",
        "departments[0].prefix",
        "required key is missing: add it",
    ),
    (
        "bad type",
        "avg_minutes = 10.0",
        'avg_minutes = "ten"',
        "services[0].avg_minutes",
        "should be a valid number",
    ),
    (
        "unknown service, with a suggestion",
        'tiers = [["psb-hukou-move-in"',
        'tiers = [["psb-hukou-mov-in"',
        "windows[0].tiers[0][0]",
        "unknown service 'psb-hukou-mov-in' (did you mean 'psb-hukou-move-in'?)",
    ),
    (
        "unknown clerk",
        'clerks = ["c00101", "c00201"]',
        'clerks = ["c00101", "c00209"]',
        "windows[0].clerks[1]",
        "unknown clerk 'c00209' (did you mean 'c00201'?): add it under [[clerks]]",
    ),
    (
        "duplicate id across device classes",
        'id = "k01"',
        'id = "e001"',
        "evaluators[0].id",
        "device id 'e001' is already used at kiosks[0].id: make it unique",
    ),
    (
        "reserved id",
        'id = "k01"',
        'id = "hall"',
        "kiosks[0].id",
        "the id 'hall' is reserved for the hall server: choose another",
    ),
    (
        "bad time zone",
        'tz = "Asia/Shanghai"',
        'tz = "Asia/Shangai"',
        "site.tz",
        "unknown time zone 'Asia/Shangai': use an IANA name (did you mean 'Asia/Shanghai'?)",
    ),
    (
        "bad id pattern",
        'id = "k01"',
        'id = "Kiosk 1"',
        "kiosks[0].id",
        "should match pattern",
    ),
    (
        "evaluator of an unknown window",
        'id = "e001"\nwindow = "w001"',
        'id = "e001"\nwindow = "w0001"',
        "evaluators[0].window",
        "unknown window 'w0001' (did you mean 'w001'?)",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "fix"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_mistake_is_named_with_key_and_fix(
    tmp_path: Path, old: str, new: str, key: str, fix: str
) -> None:
    message = problems_of(broken(tmp_path, old, new))
    assert f": {key}: " in message, message
    assert fix in message, message


def test_broken_toml_names_the_line(tmp_path: Path) -> None:
    path = broken(tmp_path, 'name = "示例政务服务大厅"', 'name = "示例政务服务大厅')
    message = problems_of(path)
    assert "not valid TOML" in message and "line 9" in message, message


def test_missing_file_says_to_check_the_path(tmp_path: Path) -> None:
    message = problems_of(tmp_path / "nowhere.toml")
    assert "file not found: check the path given to --config" in message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = SMALL.read_text(encoding="utf-8")
    text = text.replace('clerks = ["c00101", "c00201"]', 'clerks = ["c00109", "c00201"]', 1)
    text = text.replace('id = "k01"', 'id = "hall"', 1)
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert len(caught.value.problems) == 2


# Issue 13, fault 3: each of these was a traceback (exit 1, so systemd restarted the server every
# 2 s), or a misleading message, before the fix.


def test_a_config_saved_in_gbk_says_save_it_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_bytes(SMALL.read_text(encoding="utf-8").encode("gb18030"))
    message = problems_of(path)
    assert "not UTF-8" in message and "GBK" in message and "save it as UTF-8" in message
    assert len(message.splitlines()) == 1


def test_a_utf8_config_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL.read_bytes())
    assert load_config(path).site.id == load_config(SMALL).site.id


def test_a_utf16_config_is_named(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(SMALL.read_text(encoding="utf-8"), encoding="utf-16")
    message = problems_of(path)
    assert "UTF-16" in message and "save it as UTF-8" in message


def test_a_folder_given_as_the_config_says_so(tmp_path: Path) -> None:
    message = problems_of(tmp_path)
    assert "is a folder, not a file" in message


def test_a_misspelt_required_key_is_one_line_with_a_suggestion(tmp_path: Path) -> None:
    path = broken(tmp_path, 'prefix = "A"\n', 'prefx = "A"\n')
    message = problems_of(path)
    assert message.splitlines() == [
        f"{path}: departments[0].prefx: unknown key: remove it or check its spelling "
        "(did you mean 'prefix'?)"
    ]


def test_a_mistake_repeated_across_sections_is_reported_once_with_a_count(
    tmp_path: Path,
) -> None:
    text = SMALL.read_text(encoding="utf-8")
    count = text.count("\nclerks = [")
    assert count >= 3
    path = tmp_path / "hall.toml"
    path.write_text(text.replace("\nclerks = [", "\nclerk = ["), encoding="utf-8")
    message = problems_of(path)
    lines = message.splitlines()
    assert len(lines) == 1, message
    assert "windows[0].clerk: unknown key" in lines[0] and "(did you mean 'clerks'?)" in lines[0]
    assert f"the same in {count - 1} more" in lines[0]
