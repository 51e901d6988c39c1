"""A display's settings: its `Display` section of the hall config, as the hall publishes it on
`device/{id}/settings` (`{"v":1,"device":ID,"class":"display","settings":{...}}`), or read from a
hall config file for the demo and the tests. Both give the same dict; `parse_settings` reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SLOGAN = "欢迎光临"


@dataclass(frozen=True)
class DisplaySettings:
    id: str
    name: str = ""
    kind: str = "hall"  # "hall" (综合屏) or "window" (窗口屏)
    orientation: str = "landscape"
    areas: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()
    window: str | None = None
    hall_seconds: int = 60
    sunshine_seconds: int = 0
    languages: tuple[str, ...] = ("zh",)
    slogan: str = DEFAULT_SLOGAN
    keepalive: int = 10
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def parse_settings(device_id: str, section: dict[str, Any]) -> DisplaySettings:
    """The settings in a display's config section (unknown keys are ignored: a newer hall)."""
    pages = section.get("pages") if isinstance(section.get("pages"), dict) else {}
    assert isinstance(pages, dict)
    kind = section.get("kind", "hall")
    if kind not in ("hall", "window"):
        raise ValueError(f"display {device_id}: kind {kind!r} is neither 'hall' nor 'window'")
    if kind == "window" and not section.get("window"):
        raise ValueError(f"display {device_id}: a window screen needs `window = ID` in its section")
    return DisplaySettings(
        id=device_id,
        name=str(section.get("name") or ""),
        kind=kind,
        orientation=str(section.get("orientation", "landscape")),
        areas=tuple(section.get("areas") or ()),
        windows=tuple(section.get("windows") or ()),
        window=section.get("window"),
        hall_seconds=int(pages.get("hall_seconds", 60)),
        sunshine_seconds=int(pages.get("sunshine_seconds", 0)),
        languages=tuple(section.get("languages") or ("zh",)),
        slogan=str(section.get("slogan") or DEFAULT_SLOGAN),
        keepalive=int(section.get("keepalive", 10)),
        raw=dict(section),
    )


def from_settings_message(device_id: str, payload: dict[str, Any] | None) -> DisplaySettings | None:
    """The settings of a `device/{id}/settings` payload meant for this display, else None."""
    if not isinstance(payload, dict) or payload.get("device") != device_id:
        return None
    section = payload.get("settings")
    if payload.get("class") != "display" or not isinstance(section, dict):
        return None
    return parse_settings(device_id, section)


def from_config_file(device_id: str, path: str | Path) -> tuple[DisplaySettings, Any]:
    """(settings, hall config) of display `device_id` in a hall config file (the demo, the tests).
    Raises ValueError that says what to fix."""
    from hall.config.schema import (  # the reader; no engine, store or service
        ConfigError,
        load_config,
    )

    try:
        config = load_config(path)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    for display in config.displays:
        if display.id == device_id:
            return parse_settings(device_id, display.model_dump(mode="json")), config
    known = ", ".join(d.id for d in config.displays) or "none"
    raise ValueError(f"{path}: no display {device_id!r} in [[displays]] (displays: {known})")
