"""The hall config: one TOML file, validated once at start, then passed to whoever needs it.

Every error names the file, the key and what to change, e.g.
``hall.toml: windows[12].tiers[0][1]: unknown service 'psb-id-crd' (did you mean 'psb-id-card'?)``.
Nothing here reads a file at import time.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from contract.settings.bus import BusConfig
from contract.settings.printer import PrinterConfig
from hall.calendar import Calendar, Span

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
DeviceId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Prefix = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")]
RESERVED_IDS = frozenset({"hall"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(Strict):
    id: DeviceId
    name: str = Field(min_length=1)
    name_en: str = ""
    tz: str = "Asia/Shanghai"
    rollover: time = time(3, 0)  # local time at which the business day changes
    language: Literal["zh", "en"] = "zh"
    ticket_url: str | None = None  # base URL of a ticket's status page, for the printed QR code

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            hint = _suggest(value, available_timezones()) or " such as 'Asia/Shanghai'"
            raise ValueError(f"unknown time zone {value!r}: use an IANA name{hint}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


class Limits(Strict):
    recall_cap: int = Field(default=3, ge=0)  # re-announcements of one ticket at one window
    rating_seconds: int = Field(default=120, ge=5)  # how long a done ticket can be rated
    number_width: int = Field(default=3, ge=1, le=6)  # zero padding of the daily sequence
    reprint_limit: int = Field(default=2, ge=0)  # reprints of one ticket
    estimate_samples: int = Field(default=10, ge=1)  # recent services averaged for est_wait_min
    # The centre's promised longest wait: reports give the share of visitors who waited longer.
    target_wait_min: int = Field(default=20, ge=1, le=600)


class Broker(Strict):
    url: str = "mqtt://127.0.0.1:1883"  # HALLQ_MQTT_URL overrides it
    ca: str | None = None  # HALLQ_MQTT_CA overrides it
    keepalive: int = Field(default=30, ge=5, le=600)


class Department(Strict):
    code: Code
    name_zh: str = Field(min_length=1)
    name_en: str = ""
    prefix: Prefix


class Service(Strict):
    code: Code
    department: Code
    name_zh: str = Field(min_length=1)
    name_en: str = ""
    avg_minutes: float = Field(gt=0, le=600)
    promised_days: int = Field(default=0, ge=0)
    needs_appointment: bool = False
    hours: list[Span] | None = None  # none: the hall's hours ([calendar].hours)
    cap: int | None = Field(default=None, ge=0)  # tickets a business day; none: no cap
    cap_warn: int | None = Field(default=None, ge=0)  # an alarm when issued reaches this


class Clerk(Strict):
    id: DeviceId
    name: str = Field(min_length=1)
    pin_hash: str | None = None  # from `hallq pin-hash`; none: login without a PIN
    keypad_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")] | None = None


class Window(Strict):
    id: DeviceId
    no: int = Field(ge=1, le=9999)
    name: str = Field(min_length=1)
    area: str = ""
    tiers: list[list[Code]] = Field(min_length=1)  # services, in calling order, tier by tier
    clerks: list[DeviceId] = Field(min_length=1)  # the roster: who may log in here

    @property
    def services(self) -> list[str]:
        return [code for tier in self.tiers for code in tier]


class Kiosk(Strict):
    id: DeviceId
    name: str = ""
    allow_priority: bool = False  # may issue priority (green channel) tickets
    rate_limit_per_min: int | None = Field(default=None, ge=1)  # tickets a minute; none: no limit
    printer: PrinterConfig | None = None


class DisplayPages(Strict):
    """The hall screen's page schedule: the hall page, then the sunshine page (公示) for
    `sunshine_seconds` after every `hall_seconds`; 0 sunshine seconds: never."""

    hall_seconds: int = Field(default=60, ge=5)
    sunshine_seconds: int = Field(default=0, ge=0)


class Display(Strict):
    """A screen (`hallq display --id ID`): a hall screen (综合屏) or one window's screen (窗口屏).
    The hall publishes this section to the display on its `device/{id}/settings` topic."""

    id: DeviceId
    name: str = ""
    windows: list[DeviceId] = []  # a window display shows these; empty: the whole hall
    kind: Literal["hall", "window"] = "hall"
    orientation: Literal["landscape", "portrait"] = "landscape"
    areas: list[
        str
    ] = []  # a hall screen shows only the windows of these areas (floors); empty: all
    window: DeviceId | None = None  # the window a window screen shows
    pages: DisplayPages = DisplayPages()
    languages: list[Literal["zh", "en"]] = ["zh"]  # the first is the screen's language
    slogan: str = "欢迎光临"  # a window screen's idle text while the window is closed
    keepalive: int = Field(
        default=10, ge=2, le=600
    )  # seconds: a hung link shows within 1.5 of them


class Evaluator(Strict):
    id: DeviceId
    window: DeviceId


class Bridge(Strict):
    id: DeviceId
    kind: Literal["led", "keypad"]
    windows: list[DeviceId] = Field(min_length=1)  # the windows it acts for
    bus: BusConfig | None = None


class Operator(Strict):
    id: DeviceId
    name: str = ""


class Announcer(Strict):
    """A speaker group's announcer (`hallq announcer`): calls of the windows of its areas, spoken."""

    id: DeviceId
    name: str = ""
    areas: list[str] = []  # the windows' `area`s it serves; empty: every window of the hall
    languages: list[str] = Field(default=["zh"], min_length=1)  # said in turn, each a clip set
    repeat: int = Field(default=1, ge=1, le=5)  # how many times each call is said
    chime: bool = True  # a chime before each announcement
    backend: Literal["clips", "espeak"] = "clips"
    clips: str | None = None  # the hall's clip folder (one sub-folder a language); none: shipped


class HallConfig(Strict):
    site: Site
    limits: Limits = Limits()
    broker: Broker = Broker()
    calendar: Calendar = Calendar()
    departments: list[Department] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    windows: list[Window] = Field(min_length=1)
    clerks: list[Clerk] = []
    kiosks: list[Kiosk] = []
    displays: list[Display] = []
    evaluators: list[Evaluator] = []
    bridges: list[Bridge] = []
    operators: list[Operator] = []
    announcers: list[Announcer] = []

    # Lookups by id; filled once after validation (the model is frozen, so they never go stale).
    def model_post_init(self, __context: Any) -> None:
        object.__setattr__(self, "_department", {d.code: d for d in self.departments})
        object.__setattr__(self, "_service", {s.code: s for s in self.services})
        object.__setattr__(self, "_window", {w.id: w for w in self.windows})
        object.__setattr__(self, "_clerk", {c.id: c for c in self.clerks})
        object.__setattr__(self, "_evaluator", {e.id: e for e in self.evaluators})
        object.__setattr__(self, "_window_evaluator", {e.window: e.id for e in self.evaluators})

    def department(self, code: str) -> Department | None:
        return self._department.get(code)  # type: ignore[attr-defined, no-any-return]

    def service(self, code: str) -> Service | None:
        return self._service.get(code)  # type: ignore[attr-defined, no-any-return]

    def window(self, window_id: str) -> Window | None:
        return self._window.get(window_id)  # type: ignore[attr-defined, no-any-return]

    def clerk(self, clerk_id: str) -> Clerk | None:
        return self._clerk.get(clerk_id)  # type: ignore[attr-defined, no-any-return]

    def evaluator(self, evaluator_id: str) -> Evaluator | None:
        return self._evaluator.get(evaluator_id)  # type: ignore[attr-defined, no-any-return]

    def hours_of(self, service_code: str) -> list[Span]:
        """A service's opening spans: its own, or the hall's."""
        service = self.service(service_code)
        if service is not None and service.hours is not None:
            return service.hours
        return self.calendar.hours

    def evaluator_of(self, window_id: str) -> str | None:
        return self._window_evaluator.get(window_id)  # type: ignore[attr-defined, no-any-return]

    def devices(self) -> dict[str, list[str]]:
        """Device ids by class, as the catalog and the ACLs name them."""
        return {
            "kiosks": [k.id for k in self.kiosks],
            "windows": [w.id for w in self.windows],
            "evaluators": [e.id for e in self.evaluators],
            "displays": [d.id for d in self.displays],
            "bridges": [b.id for b in self.bridges],
            "operators": [o.id for o in self.operators],
            "announcers": [a.id for a in self.announcers],
        }

    def device_class(self, device_id: str) -> str | None:
        """'kiosk', 'window', 'evaluator', 'display', 'bridge', 'operator' or 'announcer'."""
        for plural, ids in self.devices().items():
            if device_id in ids:
                return plural[:-1]
        return None


class ConfigError(Exception):
    """A config that cannot be used; `problems` lists each as 'file: key: what to change'."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def _key(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _suggest(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# What to write instead, for the type errors a hand-edited TOML file makes most.
_TYPE_FIXES = {
    "int_parsing": "write a whole number without quotes, e.g. 3",
    "int_type": "write a whole number without quotes, e.g. 3",
    "int_from_float": "write a whole number, e.g. 3",
    "float_parsing": "write a number without quotes, e.g. 7.5",
    "float_type": "write a number without quotes, e.g. 7.5",
    "bool_parsing": "write true or false, without quotes",
    "bool_type": "write true or false, without quotes",
    "string_type": 'write text in quotes, e.g. "w05"',
    "list_type": 'write a list in brackets, e.g. ["a", "b"]',
    "time_parsing": 'write a time as "HH:MM", e.g. "09:00"',
    "time_type": 'write a time as "HH:MM", e.g. "09:00"',
    "date_from_datetime_parsing": 'write a date as "YYYY-MM-DD"',
    "date_parsing": 'write a date as "YYYY-MM-DD"',
    "date_type": 'write a date as "YYYY-MM-DD"',
    "string_pattern_mismatch": "ids use lower-case letters, digits and '-' only",
    "literal_error": "use one of the values listed",
    "greater_than_equal": "raise it",
    "greater_than": "raise it",
    "less_than_equal": "lower it",
    "less_than": "lower it",
    "too_short": "add at least one entry",
    "model_type": "write a table here ([section] or {key = value})",
}


def _pydantic_problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key: remove it or check its spelling"
        elif item["type"] == "missing":
            message = "required key is missing: add it"
        elif item["type"] == "value_error":
            message = str(item.get("ctx", {}).get("error", message))
        elif item["type"] in _TYPE_FIXES:
            message = f"{message}: {_TYPE_FIXES[item['type']]} (got {item.get('input')!r})"
        problems.append(f"{_key(item['loc'])}: {message}")
    return problems


def _duplicates(items: Iterable[tuple[str, Any]], what: str) -> list[str]:
    seen: dict[Any, str] = {}
    problems = []
    for key, value in items:
        if value in seen:
            problems.append(
                f"{key}: {what} {value!r} is already used at {seen[value]}: make it unique"
            )
        else:
            seen[value] = key
    return problems


def cross_check(config: HallConfig) -> list[str]:
    """What pydantic cannot see: references between sections and uniqueness across them."""
    problems: list[str] = []
    departments = {d.code for d in config.departments}
    services = {s.code for s in config.services}
    windows = {w.id for w in config.windows}
    clerks = {c.id for c in config.clerks}

    problems += _duplicates(
        ((f"departments[{i}].code", d.code) for i, d in enumerate(config.departments)), "code"
    )
    problems += _duplicates(
        ((f"departments[{i}].prefix", d.prefix) for i, d in enumerate(config.departments)), "prefix"
    )
    problems += _duplicates(
        ((f"services[{i}].code", s.code) for i, s in enumerate(config.services)), "code"
    )
    problems += _duplicates(
        ((f"windows[{i}].no", w.no) for i, w in enumerate(config.windows)), "window number"
    )
    problems += _duplicates(
        ((f"clerks[{i}].id", c.id) for i, c in enumerate(config.clerks)), "clerk id"
    )
    problems += _duplicates(
        (
            (f"clerks[{i}].keypad_code", c.keypad_code)
            for i, c in enumerate(config.clerks)
            if c.keypad_code
        ),
        "keypad code",
    )
    # A device's id is its MQTT username: unique across every class, and never the hall's own.
    device_keys: list[tuple[str, str]] = []
    sections = ("windows", "kiosks", "displays", "evaluators", "bridges", "operators", "announcers")
    for section in sections:
        device_keys += [
            (f"{section}[{i}].id", d.id) for i, d in enumerate(getattr(config, section))
        ]
    problems += _duplicates(device_keys, "device id")
    problems += [
        f"{k}: the id {v!r} is reserved for the hall server: choose another"
        for k, v in device_keys
        if v in RESERVED_IDS
    ]

    for i, s in enumerate(config.services):
        if s.department not in departments:
            problems.append(
                f"services[{i}].department: unknown department {s.department!r}{_suggest(s.department, departments)}"
            )
    for i, w in enumerate(config.windows):
        seen: set[str] = set()
        for t, tier in enumerate(w.tiers):
            if not tier:
                problems.append(
                    f"windows[{i}].tiers[{t}]: empty tier: remove it or name its services"
                )
            for j, code in enumerate(tier):
                if code not in services:
                    problems.append(
                        f"windows[{i}].tiers[{t}][{j}]: unknown service {code!r}{_suggest(code, services)}"
                    )
                elif code in seen:
                    problems.append(
                        f"windows[{i}].tiers[{t}][{j}]: service {code!r} is listed twice for this window"
                    )
                seen.add(code)
        for j, clerk in enumerate(w.clerks):
            if clerk not in clerks:
                problems.append(
                    f"windows[{i}].clerks[{j}]: unknown clerk {clerk!r}{_suggest(clerk, clerks)}: add it under [[clerks]]"
                )
    evaluated: dict[str, int] = {}
    for i, e in enumerate(config.evaluators):
        if e.window not in windows:
            problems.append(
                f"evaluators[{i}].window: unknown window {e.window!r}{_suggest(e.window, windows)}"
            )
        elif e.window in evaluated:
            problems.append(
                f"evaluators[{i}].window: window {e.window!r} already has evaluators[{evaluated[e.window]}]: one per window"
            )
        else:
            evaluated[e.window] = i
    areas = {w.area for w in config.windows}
    for i, d in enumerate(config.displays):
        for j, wid in enumerate(d.windows):
            if wid not in windows:
                problems.append(
                    f"displays[{i}].windows[{j}]: unknown window {wid!r}{_suggest(wid, windows)}"
                )
        for j, area in enumerate(d.areas):
            if area not in areas:
                problems.append(
                    f"displays[{i}].areas[{j}]: no window is in area {area!r}{_suggest(area, areas)}"
                )
        if d.kind == "window" and d.window is None:
            problems.append(
                f"displays[{i}].window: a window screen names its window: add window = ID"
            )
        elif d.window is not None and d.window not in windows:
            problems.append(
                f"displays[{i}].window: unknown window {d.window!r}{_suggest(d.window, windows)}"
            )
    for i, b in enumerate(config.bridges):
        for j, wid in enumerate(b.windows):
            if wid not in windows:
                problems.append(
                    f"bridges[{i}].windows[{j}]: unknown window {wid!r}{_suggest(wid, windows)}"
                )
        if b.bus is not None:
            mine, other = ("boards", "keypads") if b.kind == "led" else ("keypads", "boards")
            if getattr(b.bus, other):
                problems.append(
                    f"bridges[{i}].bus.{other}: a {b.kind} bridge drives no {other}: remove them"
                )
            for j, unit in enumerate(getattr(b.bus, mine)):
                if unit.window not in b.windows:
                    problems.append(
                        f"bridges[{i}].bus.{mine}[{j}].window: {unit.window!r} is not one of this bridge's windows: add it to bridges[{i}].windows"
                    )
    areas = {w.area for w in config.windows}
    for i, a in enumerate(config.announcers):
        for j, area in enumerate(a.areas):
            if area not in areas:
                problems.append(
                    f"announcers[{i}].areas[{j}]: no window is in area {area!r}"
                    f"{_suggest(area, areas)}: the areas are {', '.join(sorted(areas))}"
                )
        problems += _duplicates(
            ((f"announcers[{i}].languages[{j}]", lang) for j, lang in enumerate(a.languages)),
            "language",
        )
    for i, s in enumerate(config.services):
        if s.cap is not None and s.cap_warn is not None and s.cap_warn > s.cap:
            problems.append(
                f"services[{i}].cap_warn: {s.cap_warn} is above the cap {s.cap}: lower it"
            )
    years = [y.year for y in config.calendar.years]
    problems += _duplicates(((f"calendar.years[{i}].year", y) for i, y in enumerate(years)), "year")
    for i, c in enumerate(config.clerks):
        if c.pin_hash is not None and not c.pin_hash.startswith("pbkdf2_sha256$"):
            problems.append(f"clerks[{i}].pin_hash: not a PIN hash: make one with `hallq pin-hash`")
    return problems


def parse_config(data: dict[str, Any], source: str = "<config>") -> HallConfig:
    try:
        config = HallConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _pydantic_problems(exc)) from None
    problems = cross_check(config)
    if problems:
        raise ConfigError(source, problems)
    return config


def load_config(path: str | Path) -> HallConfig:
    """Read and validate a hall config; raises ConfigError that says what to fix."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found: check the path given to --config"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_config(data, str(path))
