"""The hall config: one TOML file, validated once at start, then passed to whoever needs it.

Every error names the file, the key and what to change, e.g.
``hall.toml: windows[12].tiers[0][1]: unknown service 'psb-id-crd' (did you mean 'psb-id-card'?)``.
Nothing here reads a file at import time.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args
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
from hall.config.calendar import Calendar, Span

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
DeviceId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Prefix = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")]
RESERVED_IDS = frozenset({"hall", "hall-check"})  # the hall server's accounts
# The classes of device a config names, each a section of its plural ("kiosks", ...), in the order
# `HallConfig.devices()` lists them.
DEVICE_CLASSES = ("kiosk", "window", "evaluator", "display", "bridge", "operator", "announcer")


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
    # Time limits: an open case turns yellow (near) with this many working days or fewer left.
    case_warn_days: int = Field(default=1, ge=0, le=30)


class Broker(Strict):
    url: str = "mqtt://127.0.0.1:1883"  # HALLQ_MQTT_URL overrides it
    ca: str | None = None  # HALLQ_MQTT_CA overrides it
    keepalive: int = Field(default=30, ge=5, le=600)


class Metrics(Strict):
    """`[metrics]`: the hall server serves Prometheus metrics over HTTP on `address` (HOST:PORT;
    `[::1]:9464` for IPv6). No section: no listener (docs/deploying.md "Metrics")."""

    address: str = "127.0.0.1:9464"

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f'address {value!r} is not HOST:PORT: write e.g. "127.0.0.1:9464" '
                '(loopback) or "0.0.0.0:9464" for a Prometheus on another machine'
            )
        return value

    @property
    def host(self) -> str:
        return self.address.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])


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


class DepartmentAlarms(Strict):
    """A department's own thresholds; a key left out takes the hall's."""

    department: Code
    queue_long: int | None = Field(default=None, ge=1)
    wait_long_min: int | None = Field(default=None, ge=1)


class Alarms(Strict):
    """When the hall raises the condition alarms of the monitoring room (docs/config.md). A
    threshold left out (or the whole section) raises no alarm of its kind."""

    queue_long: int | None = Field(default=None, ge=1)  # people waiting in one department
    wait_long_min: int | None = Field(default=None, ge=1)  # the department's longest wait
    paused_max_min: int | None = Field(default=None, ge=1)  # a window paused this long
    idle_max_min: int | None = Field(default=None, ge=1)  # open, no call, people waiting
    device_grace_s: int | None = Field(default=None, ge=5)  # a device never heard from this long
    departments: list[DepartmentAlarms] = []

    def for_department(self, code: str) -> tuple[int | None, int | None]:
        """(queue_long, wait_long_min) in force for a department."""
        for own in self.departments:
            if own.department == code:
                queue = own.queue_long if own.queue_long is not None else self.queue_long
                wait = own.wait_long_min if own.wait_long_min is not None else self.wait_long_min
                return queue, wait
        return self.queue_long, self.wait_long_min


class HallConfig(Strict):
    site: Site
    limits: Limits = Limits()
    broker: Broker = Broker()
    metrics: Metrics | None = None  # no section: the hall serves no metrics
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
    alarms: Alarms = Alarms()

    # Lookups by id; filled once after validation (the model is frozen, so they never go stale).
    def model_post_init(self, __context: Any) -> None:
        object.__setattr__(self, "_department", {d.code: d for d in self.departments})
        object.__setattr__(self, "_service", {s.code: s for s in self.services})
        object.__setattr__(self, "_window", {w.id: w for w in self.windows})
        object.__setattr__(self, "_clerk", {c.id: c for c in self.clerks})
        object.__setattr__(self, "_evaluator", {e.id: e for e in self.evaluators})
        object.__setattr__(self, "_window_evaluator", {e.window: e.id for e in self.evaluators})
        # The one table of devices: id -> class ("kiosk", "window", ...). Everything that asks
        # "is this a device, of which class?" reads it (device_class, has_device, devices).
        table: dict[str, str] = {}
        for device_class in DEVICE_CLASSES:
            for section in getattr(self, device_class + "s"):
                table.setdefault(section.id, device_class)  # ids are unique (validated below)
        object.__setattr__(self, "_device_class", table)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose lookups (and table of devices) follow its own sections, also those that
        `update` replaced (pydantic copies the lookups of the original as they were)."""
        copy = super().model_copy(update=update, deep=deep)
        copy.model_post_init(None)
        return copy

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
        """Device ids by class (plural: "kiosks", ...), in config order, as the catalog and the
        ACLs name them (read from the one table of devices)."""
        out: dict[str, list[str]] = {device_class + "s": [] for device_class in DEVICE_CLASSES}
        for device, device_class in self._device_class.items():  # type: ignore[attr-defined]
            out[device_class + "s"].append(device)
        return out

    def device_class(self, device_id: str) -> str | None:
        """'kiosk', 'window', 'evaluator', 'display', 'bridge', 'operator' or 'announcer'."""
        return self._device_class.get(device_id)  # type: ignore[attr-defined, no-any-return]

    def device_classes(self) -> Mapping[str, str]:
        """The one table of devices: each device id and its class, read-only, in config order."""
        return self._device_class  # type: ignore[attr-defined, no-any-return]

    def has_device(self, device_class: str, device_id: str) -> bool:
        """Whether `device_id` is a configured device of `device_class` ("kiosk", ...)."""
        return self._device_class.get(device_id) == device_class  # type: ignore[attr-defined, no-any-return]


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


def _model_at(loc: Iterable[int | str]) -> type[BaseModel] | None:
    """The config model that holds the key at `loc` (the location of a key inside it)."""
    model: type[BaseModel] | None = HallConfig
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list: the same model as the list's
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return None
        model = _model_of(field.annotation)
    return model


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation like `Window`, `list[Window]` or `PrinterConfig | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _pydantic_problems(error: ValidationError) -> list[str]:
    items = error.errors()
    # A misspelt key is both an unknown key and (when required) a missing one: say it once.
    missing = {(tuple(i["loc"][:-1]), str(i["loc"][-1])) for i in items if i["type"] == "missing"}
    merged: set[tuple[tuple[int | str, ...], str]] = set()
    problems: list[tuple[tuple[int | str, ...], str]] = []
    for item in items:
        loc = tuple(item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            parent, key = loc[:-1], str(loc[-1])
            model = _model_at(parent)
            known = list(model.model_fields) if model is not None else []
            wanted = [k for (p, k) in missing if p == parent]
            close = difflib.get_close_matches(key, wanted, n=1) or difflib.get_close_matches(
                key, known, n=1
            )
            message = "unknown key: remove it or check its spelling"
            if close:
                message += f" (did you mean {close[0]!r}?)"
                if close[0] in wanted:
                    merged.add((parent, close[0]))
        elif item["type"] == "missing":
            message = "required key is missing: add it"
        elif item["type"] == "value_error":
            message = str(item.get("ctx", {}).get("error", message))
        elif item["type"] in _TYPE_FIXES:
            message = f"{message}: {_TYPE_FIXES[item['type']]} (got {item.get('input')!r})"
        problems.append((loc, message))
    kept = [
        (loc, m)
        for loc, m in problems
        if not (m.startswith("required key") and (loc[:-1], str(loc[-1])) in merged)
    ]
    return _once(kept)


def _once(problems: list[tuple[tuple[int | str, ...], str]]) -> list[str]:
    """The same mistake in many sections (windows[0..40].servces) is one line with a count."""
    groups: dict[tuple[str, str], list[tuple[int | str, ...]]] = {}
    for loc, message in problems:
        shape = _key(["*" if isinstance(p, int) else p for p in loc])
        groups.setdefault((shape, message), []).append(loc)
    lines = []
    for (_, message), locs in groups.items():
        more = f" (the same in {len(locs) - 1} more: " if len(locs) > 1 else ""
        if more:
            shown = ", ".join(_key(loc) for loc in locs[1:4]) + (", ..." if len(locs) > 4 else "")
            more += shown + ")"
        lines.append(f"{_key(locs[0])}: {message}{more}")
    return lines


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
    for i, own in enumerate(config.alarms.departments):
        if own.department not in departments:
            problems.append(
                f"alarms.departments[{i}].department: unknown department {own.department!r}"
                f"{_suggest(own.department, departments)}"
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


RATE_LIMIT_LINE = re.compile(r"^rate_limit_per_min\s*=.*\n?", re.MULTILINE)


def without_rate_limits(config: HallConfig) -> HallConfig:
    """The config with every kiosk's rate limit off: benches and the simulator issue far faster
    from one kiosk than a visitor can (the example halls turn the limit on)."""
    kiosks = [k.model_copy(update={"rate_limit_per_min": None}) for k in config.kiosks]
    # The lookups model_post_init built name no kiosk: the copy's are still right.
    return config.model_copy(update={"kiosks": kiosks})


def strip_rate_limits(toml_text: str) -> str:
    """A config file's text with every `rate_limit_per_min` line removed (for a copy a bench or a
    simulated day gives `hallq server`)."""
    return RATE_LIMIT_LINE.sub("", toml_text)


def load_config(path: str | Path) -> HallConfig:
    """Read and validate a hall config; raises ConfigError that says what to fix."""
    path = Path(path)
    text = read_config_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_config(data, str(path))


UTF8_BOM = b"\xef\xbb\xbf"
SAVE_AS_UTF8 = (
    "save it as UTF-8 (in Notepad: File > Save As > Encoding: UTF-8; or "
    "iconv -f GBK -t UTF-8 OLD > NEW)"
)


def read_config_text(path: Path) -> str:
    """The config file's text: UTF-8, with or without a byte order mark (Windows Notepad writes
    one). Anything else (GBK, saved by a Chinese Windows editor; UTF-16; a folder) is a ConfigError
    that says what to do."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, ["file not found: check the path given to --config"]) from None
    except IsADirectoryError:
        raise ConfigError(
            source, ["is a folder, not a file: give the hall config file itself (hall.toml)"]
        ) from None
    except PermissionError:
        raise ConfigError(
            source, ["cannot be read (permission denied): let the server's user read it"]
        ) from None
    except OSError as exc:
        raise ConfigError(source, [f"cannot be read ({exc.strerror or exc})"]) from None
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]  # UTF-8 with a byte order mark: the same text
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(source, [f"the file is saved as UTF-16: {SAVE_AS_UTF8}"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        looks = ""
        try:
            raw.decode("gb18030")
            looks = " (it looks like GBK/GB18030, as Chinese Windows editors save by default)"
        except UnicodeDecodeError:
            pass
        raise ConfigError(
            source, [f"line {line}: the file is not UTF-8{looks}: {SAVE_AS_UTF8}"]
        ) from None
