"""What the monitoring room sees, in plain Python (no Kivy): the windows, the queues with their last
hours, the day's figures, the open alarms and every device's health, from the hall's retained topics;
and the operator's ops, checked and described before they are sent.

The widgets (monitor/widgets.py) draw `view()`; the link (monitor/link.py) feeds `on_*` on the UI
thread. Times on screen are the hall's (the payloads' `at`, with their offset).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

HISTORY_MINUTES = 240  # the queue charts: the last 4 hours, one sample a minute
STATUS_ZH = {"open": "办理中", "paused": "暂停", "closed": "关闭"}
SEVERITY_ZH = {"critical": "严重", "warn": "警告", "info": "提示"}
KIND_ZH = {
    "queue_long": "排队过长",
    "wait_long": "等候过久",
    "window_paused": "窗口暂停过久",
    "window_idle": "窗口空闲",
    "device_offline": "设备离线",
    "device_fault": "设备故障",
    "bad_rating": "差评",
    "kiosk_help": "取号机求助",
    "storage_error": "存储故障",
    "worker_fault": "服务器故障",
    "quota": "号源",
}
CASE_STATE_ZH = {"ok": "正常", "near": "临期", "overdue": "超期"}
SEVERITY_ORDER = {"critical": 0, "warn": 1, "info": 2}
BAD_HEALTH = {"offline", "error", "paper_out", "cover_open", "fault"}
WARN_HEALTH = {"paper_near_end", "unknown"}


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def hhmm(value: Any) -> str:
    at = parse_time(value)
    return at.strftime("%H:%M") if at else ""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, service, window, bool, int
    required: bool = True
    omit_empty: bool = False  # left empty: not sent at all (rather than "", which clears)


@dataclass(frozen=True)
class OpForm:
    """An operator op as the screen offers it: what it does, and whether visitors feel it (then the
    operator confirms it first)."""

    key: str
    op: str
    title: str
    explains: str
    fields: tuple[Field, ...]
    confirm: bool
    fixed: tuple[tuple[str, Any], ...] = ()


FORMS: tuple[OpForm, ...] = (
    OpForm("service_close", "service", "暂停取号", "关闭一项业务今日的取号：取号机不再发该业务的号，已取的号照常叫。",
           (Field("service", "业务", "service"),), True, (("open", False),)),
    OpForm("service_open", "service", "恢复取号", "重新开放一项业务今日的取号。",
           (Field("service", "业务", "service"),), True, (("open", True),)),
    OpForm("service_cap", "service", "今日号源", "设今日该业务最多发多少号（留空：取消限额，按配置）。",
           (Field("service", "业务", "service"), Field("cap", "号数", "int", False)), True),
    OpForm("notice", "notice", "公告", "在大厅屏、窗口屏和取号机上滚动显示这条公告（留空：撤下公告）。",
           (Field("text", "公告内容", "text", False),), True),
    OpForm("cancel", "cancel", "作废号票", "作废一张号票（如重复取号）：它不再被叫。",
           (Field("ticket", "号票编号（如 20261206-A012）"),), True),
    OpForm("force_logout", "force_logout", "强制退出窗口", "让窗口的工作人员退出：窗口关闭，不再叫号。",
           (Field("window", "窗口", "window"),), True),
    OpForm("booking_add", "booking_add", "添加预约", "登记一条预约（预约码、业务、日期、时段）。",
           (Field("code", "预约码"), Field("service", "业务", "service"),
            Field("day", "日期 YYYY-MM-DD"), Field("slot", "时段 HH:MM")), True),
    OpForm("booking_cancel", "booking_cancel", "取消预约", "取消一条未签到的预约。",
           (Field("code", "预约码"),), True),
    OpForm("close_case", "close_case", "办结受理件", "把一件受理件记为办结（窗口通常自己办结；此处用于代办或纠正）。",
           (Field("case", "受理件编号（如 20261206-A012）"), Field("note", "备注", "text", False, True)), True),
)  # fmt: skip
FORM_BY_KEY = {form.key: form for form in FORMS}


class FormError(ValueError):
    """What the operator typed cannot be sent; the message says what to fix."""


@dataclass(frozen=True)
class Prepared:
    op: str
    fields: dict[str, Any]
    summary: str  # the confirmation question (or what is being done)
    confirm: bool


@dataclass
class WindowRow:
    id: str
    name: str
    status: str
    status_zh: str
    clerk: str
    ticket: str
    since: str
    reason: str


@dataclass
class QueueRow:
    code: str
    name: str
    waiting: int
    longest_min: int
    history: list[int]  # one a minute, oldest first (missing minutes repeat the last value)
    closed: list[str]  # services of the department that cannot issue now, with why


@dataclass
class AlarmRow:
    id: str
    kind: str
    title: str
    severity: str
    subject: str
    text: str
    at: str
    acked: str  # "" or "已确认 op1 09:12"
    notes: list[str]
    closable: bool


@dataclass
class DeviceRow:
    id: str
    kind: str
    online: bool | None
    health: str
    level: str  # ok, warn, bad


@dataclass
class CaseCountRow:
    """A department's open cases (受理件) by state, from the retained `cases`."""

    code: str
    name: str
    ok: int
    near: int
    overdue: int


@dataclass
class CaseLine:
    """A case near its due date (yellow) or past it (red)."""

    id: str
    number: str
    service: str
    department: str
    window: str
    accepted: str
    due: str
    state: str  # near / overdue
    state_zh: str
    days_left: int


@dataclass
class MonitorView:
    site: str
    now: str
    link: str  # "" when all is well, else what is wrong
    notice: str
    windows: list[WindowRow]
    queues: list[QueueRow]
    figures: list[tuple[str, str]]
    alarms: list[AlarmRow]
    devices: list[DeviceRow]
    message: str  # the outcome of the last op
    newest_alarm: str
    case_counts: list[CaseCountRow] = field(default_factory=list)  # per department
    late_cases: list[CaseLine] = field(default_factory=list)  # red first, then yellow


@dataclass
class _History:
    samples: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=HISTORY_MINUTES))

    def add(self, minute: int, value: int) -> None:
        if self.samples and self.samples[-1][0] == minute:
            self.samples[-1] = (minute, value)  # the newest value of a minute stands for it
        elif not self.samples or minute > self.samples[-1][0]:
            self.samples.append((minute, value))

    def series(self, now_minute: int) -> list[int]:
        """One value a minute over the last 4 hours that have samples, gaps filled with the last."""
        if not self.samples:
            return []
        first = max(self.samples[0][0], now_minute - HISTORY_MINUTES + 1)
        out: list[int] = []
        values = {m: v for m, v in self.samples}
        last = next((v for m, v in self.samples if m <= first), self.samples[0][1])
        for minute in range(first, max(now_minute, self.samples[-1][0]) + 1):
            last = values.get(minute, last)
            out.append(last)
        return out[-HISTORY_MINUTES:]


class MonitorPresenter:
    def __init__(self, operator_id: str, now: Callable[[], datetime]) -> None:
        self.operator_id = operator_id
        self.now = now
        self.catalog: dict[str, Any] = {}
        self.queues: dict[str, Any] = {}
        self.board: dict[str, Any] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.stats: dict[str, Any] = {}
        self.alarms: list[dict[str, Any]] = []
        self.cases: dict[str, Any] = {}
        self.presence: dict[str, bool] = {}
        self.health: dict[str, dict[str, Any]] = {}
        self.history: dict[str, _History] = {}
        self.connected = False
        self.hall_online: bool | None = None
        self.message = ""
        self.alarm_seen: dict[str, float] = {}  # alarm id -> monotonic time first applied (bench)

    # -- from the link (UI thread)
    def on_catalog(self, payload: dict[str, Any] | None) -> None:
        self.catalog = payload or {}

    def on_queues(self, payload: dict[str, Any] | None) -> None:
        self.queues = payload or {}
        at = parse_time(self.queues.get("at"))
        if at is None:
            return
        per_department: dict[str, int] = {}
        for code, service in (self.queues.get("services") or {}).items():
            department = self.department_of(code)
            if department:
                waiting = int((service or {}).get("waiting") or 0)
                per_department[department] = per_department.get(department, 0) + waiting
        self._sample(at, per_department)

    def on_board(self, payload: dict[str, Any] | None) -> None:
        self.board = payload or {}
        for state in self.board.get("windows") or []:
            window = (state.get("window") or {}).get("id")
            if window:
                self.states[window] = state
        at = parse_time(self.board.get("at"))
        if at is not None:
            waiting = self.board.get("waiting") or {}
            self._sample(at, {d: int((w or {}).get("count") or 0) for d, w in waiting.items()})

    def on_window_state(self, window: str, payload: dict[str, Any] | None) -> None:
        if payload:
            self.states[window] = payload

    def on_stats(self, payload: dict[str, Any] | None) -> None:
        self.stats = payload or {}

    def on_alarms(self, payload: dict[str, Any] | None, arrived: float = 0.0) -> None:
        alarms = (payload or {}).get("alarms") or []
        self.alarms = [a for a in alarms if isinstance(a, dict) and a.get("id")]
        for alarm in self.alarms:
            self.alarm_seen.setdefault(str(alarm["id"]), arrived)

    def on_cases(self, payload: dict[str, Any] | None) -> None:
        self.cases = payload or {}

    def on_presence(self, client: str, online: bool) -> None:
        if client == "hall":
            self.hall_online = online
        else:
            self.presence[client] = online

    def on_health(self, device: str, payload: dict[str, Any] | None) -> None:
        if payload:
            self.health[device] = payload
        else:
            self.health.pop(device, None)

    def on_connection(self, connected: bool) -> None:
        self.connected = connected

    def _sample(self, at: datetime, per_department: dict[str, int]) -> None:
        minute = int(at.timestamp() // 60)
        for department, waiting in per_department.items():
            self.history.setdefault(department, _History()).add(minute, waiting)

    # -- lookups
    def department_of(self, service: str) -> str | None:
        for s in self.catalog.get("services") or []:
            if s.get("code") == service:
                return str(s.get("department"))
        return None

    def services(self) -> list[tuple[str, str]]:
        return [
            (s["code"], s.get("name_zh") or s["code"]) for s in self.catalog.get("services") or []
        ]

    def subject_name(self, kind: str, subject: str) -> str:
        """An alarm's subject as the room knows it: a department's, window's or service's name."""
        for key in ("departments", "windows", "services"):
            for item in self.catalog.get(key) or []:
                if item.get("code", item.get("id")) == subject:
                    return str(item.get("name_zh") or item.get("name") or subject)
        return "大厅" if subject == "hall" else subject

    def window_ids(self) -> list[str]:
        return [w["id"] for w in self.catalog.get("windows") or []] or sorted(self.states)

    # -- the picture
    def view(self) -> MonitorView:
        now = self.now()
        alarms = [self._alarm_row(a) for a in self.alarms]
        newest = alarms[0] if alarms else None
        return MonitorView(
            site=str((self.catalog.get("site") or {}).get("name") or ""),
            now=now.strftime("%Y-%m-%d %H:%M:%S"),
            link=self._link_text(),
            notice=str(self.catalog.get("notice") or self.board.get("notice") or ""),
            windows=self._windows(),
            queues=self._queues(now),
            figures=self._figures(),
            alarms=alarms,
            devices=self._devices(),
            message=self.message,
            newest_alarm=(
                f"{SEVERITY_ZH.get(newest.severity, newest.severity)} {newest.at} "
                f"{newest.title} {newest.subject}：{newest.text}"
                if newest
                else ""
            ),
            case_counts=self._case_counts(),
            late_cases=self._late_cases(),
        )

    def _case_counts(self) -> list[CaseCountRow]:
        names = {d.get("code"): d.get("name_zh") for d in self.catalog.get("departments") or []}
        rows = []
        for code, counts in (self.cases.get("departments") or {}).items():
            counts = counts or {}
            rows.append(
                CaseCountRow(
                    str(code),
                    str(names.get(code) or code),
                    int(counts.get("ok") or 0),
                    int(counts.get("near") or 0),
                    int(counts.get("overdue") or 0),
                )
            )
        return rows

    def _late_cases(self) -> list[CaseLine]:
        services = dict(self.services())
        departments = {
            d.get("code"): d.get("name_zh") for d in self.catalog.get("departments") or []
        }
        windows = {w.get("id"): w.get("name") for w in self.catalog.get("windows") or []}
        lines = []
        for case in self.cases.get("cases") or []:
            state = (case or {}).get("state")
            if state not in ("near", "overdue"):
                continue
            lines.append(
                CaseLine(
                    id=str(case.get("id")),
                    number=str(case.get("number")),
                    service=str(services.get(case.get("service")) or case.get("service")),
                    department=str(
                        departments.get(case.get("department")) or case.get("department")
                    ),
                    window=str(windows.get(case.get("window")) or case.get("window")),
                    accepted=str(case.get("accepted")),
                    due=str(case.get("due")),
                    state=str(state),
                    state_zh=CASE_STATE_ZH[str(state)],
                    days_left=int(case.get("days_left") or 0),
                )
            )
        return sorted(lines, key=lambda c: (c.state != "overdue", c.due))

    def _link_text(self) -> str:
        if not self.connected:
            return "与服务器的连接断开，正在重连：画面上的数据可能已过时"
        if self.hall_online is False:
            return "大厅服务器离线：画面上的数据可能已过时"
        return ""

    def _windows(self) -> list[WindowRow]:
        names = {w["id"]: w.get("name", w["id"]) for w in self.catalog.get("windows") or []}
        rows = []
        for window in self.window_ids():
            state = self.states.get(window) or {}
            status = str(state.get("status") or "closed")
            ticket = state.get("ticket") or {}
            rows.append(
                WindowRow(
                    id=window,
                    name=str(
                        names.get(window) or (state.get("window") or {}).get("name") or window
                    ),
                    status=status,
                    status_zh=STATUS_ZH.get(status, status),
                    clerk=str((state.get("clerk") or {}).get("name") or ""),
                    ticket=str(ticket.get("number") or ""),
                    since=hhmm(state.get("since")),
                    reason=str(state.get("reason") or ""),
                )
            )
        return rows

    def _queues(self, now: datetime) -> list[QueueRow]:
        waiting = self.board.get("waiting") or {}
        services = self.queues.get("services") or {}
        minute = int(now.timestamp() // 60)
        rows = []
        for department in self.catalog.get("departments") or []:
            code = department["code"]
            counts = waiting.get(code) or {}
            from_queues = sum(
                int((services.get(s["code"]) or {}).get("waiting") or 0)
                for s in self.catalog.get("services") or []
                if s.get("department") == code
            )
            closed = [
                f"{s.get('name_zh') or s['code']}（{REASON_ZH.get(r, r)}）"
                for s in self.catalog.get("services") or []
                if s.get("department") == code
                and (r := (services.get(s["code"]) or {}).get("reason"))
                and r != "appointment_only"  # by design, not something to watch
            ]
            history = self.history.get(code)
            rows.append(
                QueueRow(
                    code=code,
                    name=str(department.get("name_zh") or code),
                    waiting=int(counts.get("count", from_queues) or 0),
                    longest_min=int(counts.get("longest_wait_min") or 0),
                    history=history.series(minute) if history else [],
                    closed=closed,
                )
            )
        return rows

    def _figures(self) -> list[tuple[str, str]]:
        services = (self.stats.get("services") or {}).values()
        served = sum(int(s.get("served") or 0) for s in services)
        rated = sum(int(s.get("rated") or 0) for s in services)
        good = sum(
            int((s.get("ratings") or {}).get(level) or 0)
            for s in services
            for level in ("3", "4", "5")
        )
        bad = rated - good
        issued = sum(
            int((s or {}).get("issued_today") or 0)
            for s in (self.queues.get("services") or {}).values()
        )
        waiting = sum(
            int((s or {}).get("waiting") or 0) for s in (self.queues.get("services") or {}).values()
        )
        times = [
            (int(s["mean_service_s"]), int(s.get("served") or 0))
            for s in services
            if s.get("mean_service_s") is not None
        ]
        total = sum(n for _, n in times)
        mean = sum(t * n for t, n in times) / total if total else None
        return [
            ("今日取号", str(issued)),
            ("正在等候", str(waiting)),
            ("已办结", str(served)),
            ("平均办理", f"{mean / 60:.1f} 分钟" if mean is not None else "—"),
            ("评价数", str(rated)),
            ("满意率", f"{good * 100 / rated:.0f}%" if rated else "—"),
            ("不满意", str(bad)),
        ]

    def _alarm_row(self, alarm: dict[str, Any]) -> AlarmRow:
        acked = alarm.get("acked")
        kind = str(alarm.get("kind") or "")
        return AlarmRow(
            id=str(alarm["id"]),
            kind=kind,
            title=KIND_ZH.get(kind, kind),
            severity=str(alarm.get("severity") or "info"),
            subject=self.subject_name(kind, str(alarm.get("subject") or "")),
            text=str(alarm.get("text") or ""),
            at=hhmm(alarm.get("at")),
            acked=f"已确认 {acked.get('by', '')} {hhmm(acked.get('at'))}"
            if isinstance(acked, dict)
            else "",
            notes=[
                f"{hhmm(n.get('at'))} {n.get('by', '')}：{n.get('text', '')}"
                for n in alarm.get("notes") or []
                if isinstance(n, dict)
            ],
            closable=kind in ("bad_rating", "kiosk_help"),
        )

    def _devices(self) -> list[DeviceRow]:
        known: dict[str, str] = {}
        kind_zh = {
            "kiosks": "取号机",
            "displays": "显示屏",
            "evaluators": "评价器",
            "bridges": "硬件桥",
            "operators": "监控",
            "announcers": "语音",
        }
        for plural, ids in (self.catalog.get("devices") or {}).items():
            for device in ids or []:
                known[device] = kind_zh.get(plural, plural)
        for window in self.window_ids():
            known.setdefault(window, "窗口")
        for device in list(self.presence) + list(self.health):
            known.setdefault(device, "设备")
        rows = []
        for device, kind in sorted(known.items(), key=lambda kv: (kv[1], kv[0])):
            online = self.presence.get(device)
            health = self.health.get(device) or {}
            state = str(health.get("state") or "")
            if online is False or state in BAD_HEALTH:
                level = "bad"
            elif state in WARN_HEALTH or online is None:
                level = "warn"
            else:
                level = "ok"
            text = ("在线" if online else "离线" if online is False else "未上线") + (
                f" · {HEALTH_ZH.get(state, state)} {hhmm(health.get('at'))}" if state else ""
            )
            rows.append(DeviceRow(device, kind, online, text, level))
        order = {"bad": 0, "warn": 1, "ok": 2}  # what needs someone first
        return sorted(rows, key=lambda row: order[row.level])

    # -- operator ops
    def prepare(self, key: str, values: dict[str, str]) -> Prepared:
        """The request of form `key` from what was typed; raises FormError saying what to fix."""
        form = FORM_BY_KEY[key]
        fields: dict[str, Any] = dict(form.fixed)
        for f in form.fields:
            raw = (values.get(f.name) or "").strip()
            if not raw:
                if f.required:
                    raise FormError(f"请填写「{f.label}」")
                if f.omit_empty:
                    continue
                if f.kind == "int":
                    fields[f.name] = None
                elif f.kind == "text":
                    fields[f.name] = ""
                continue
            if f.kind == "int":
                if not raw.isdigit():
                    raise FormError(f"「{f.label}」应为不小于 0 的整数，而不是 {raw!r}")
                fields[f.name] = int(raw)
            elif f.kind == "service" and raw not in dict(self.services()):
                raise FormError(f"没有业务 {raw!r}：请从列表中选择")
            elif f.kind == "window" and raw not in self.window_ids():
                raise FormError(f"没有窗口 {raw!r}：请从列表中选择")
            else:
                fields[f.name] = raw
        return Prepared(form.op, fields, self.describe(form, fields), form.confirm)

    def describe(self, form: OpForm, fields: dict[str, Any]) -> str:
        services = dict(self.services())
        if form.key == "service_close":
            return f"暂停「{services[fields['service']]}」今日取号？取号机将不再发此业务的号。"
        if form.key == "service_open":
            return f"恢复「{services[fields['service']]}」今日取号？"
        if form.key == "service_cap":
            cap = fields.get("cap")
            name = services[fields["service"]]
            return (
                f"「{name}」今日号源设为 {cap} 个？"
                if cap is not None
                else f"取消「{name}」今日限额？"
            )
        if form.key == "notice":
            text = fields.get("text") or ""
            return f"在所有屏幕上显示公告：「{text}」？" if text else "撤下所有屏幕上的公告？"
        details = "，".join(
            f"{f.label}：{fields[f.name]}" for f in form.fields if fields.get(f.name) is not None
        )
        return f"{form.title}（{details}）？"

    def outcome(self, title: str, ok: bool, detail: str) -> None:
        self.message = f"{title}：{'已完成' if ok else '未完成'}{('，' + detail) if detail else ''}"


REASON_ZH = {
    "closed": "已停止取号",
    "outside_hours": "非办理时间",
    "quota_reached": "号已取完",
    "appointment_only": "仅预约",
}
HEALTH_ZH = {
    "ready": "正常",
    "ok": "正常",
    "paper_near_end": "纸将用完",
    "paper_out": "缺纸",
    "cover_open": "盖子打开",
    "offline": "离线",
    "error": "故障",
    "unknown": "未知",
}
ERROR_ZH = {
    "unknown_case": "没有这件受理件（可能已办结）",
    "case_closed": "该件已办结",
    "unknown_alarm": "没有这条告警（可能已解除）",
    "invalid_transition": "当前状态下不能这样做",
    "unknown_service": "没有这项业务",
    "unknown_ticket": "没有这张号票",
    "unknown_window": "没有这个窗口",
    "not_logged_in": "窗口没有人登录",
    "unknown_booking": "没有这条预约",
    "booking_used": "预约已签到，不能更改",
    "invalid_request": "内容不合要求",
    "timeout": "服务器未回应，请检查连接后重试",
}
