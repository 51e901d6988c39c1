"""What every screen needs from its feed, in plain Python: the calls in `seq` order and whether what
is on screen may be stale.

`CallOrder` is the screen's own minimal in-order check; contract/calls.py's `CallSequence` (the device
client's, coming) does the same and can replace it behind `HallPresenter.accept_call`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["new", "repeat", "gap"]

# How long a ping may go unanswered, in keepalives, before the screen says it may be stale. A display
# publishes nothing, so paho sends a PINGREQ at most one keepalive after the link last worked, and a
# healthy broker answers in milliseconds; paho itself gives up only a keepalive after the ping (2 in
# all). Flagging an unanswered ping after 0.4 shows a hung link within 1.4 keepalives (+ one poll).
PING_WAIT_KEEPALIVES = 0.4


class CallOrder:
    """The seq of the last call shown: a call at or below it is a repeat (the hall may send one
    twice after a crash), one more than it is next, anything beyond is a gap (missed calls)."""

    def __init__(self) -> None:
        self.last: int | None = None

    def accept(self, seq: int) -> Verdict:
        if self.last is not None and seq <= self.last:
            return "repeat"
        verdict: Verdict = "gap" if self.last is not None and seq > self.last + 1 else "new"
        self.last = seq
        return verdict

    def reset(self, seq: int | None) -> None:
        """The board says where the hall stands: calls up to `seq` are in it."""
        self.last = seq


@dataclass
class LinkWatch:
    """The connection's health as the screen last heard it; `problem()` says what is wrong, if
    anything, in the screen's language."""

    keepalive: float = 10.0
    connected: bool = False
    hall_online: bool | None = None  # None: no status/hall seen yet
    ping_wait: float = 0.0  # seconds the last PINGREQ has waited for its answer (0: none waiting)
    ever_connected: bool = False

    def problem(self, strings: dict[str, str]) -> str | None:
        if not self.connected:
            return strings["disconnected"] if self.ever_connected else strings["connecting"]
        if self.ping_wait > PING_WAIT_KEEPALIVES * self.keepalive:
            return strings["hung"]
        if self.hall_online is False:
            return strings["hall_offline"]
        return None


class LinkedScreen:
    """What display/link.py tells every screen presenter of its connection, kept in its `link`."""

    link: LinkWatch

    def on_connection(self, connected: bool) -> None:
        self.link.connected = connected
        self.link.ever_connected |= connected
        if connected:
            self.link.ping_wait = 0.0

    def on_hall_status(self, online: bool) -> None:
        self.link.hall_online = online

    def on_ping_wait(self, seconds: float) -> None:
        self.link.ping_wait = seconds


STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "call": "请 {number} 号到 {window}",
        "called_to": "{number}  →  {window}",
        "idle": "等候叫号",
        "idle_cell": "空闲",
        "paused": "暂停服务",
        "closed": "未开放",
        "waiting": "{name}  等候 {count} 人  最长 {minutes} 分钟",
        "stale": "注意：屏幕信息可能不是最新的（{why}）",
        "disconnected": "与大厅服务器的连接已断开，正在重连",
        "connecting": "正在连接大厅服务器",
        "hung": "与大厅服务器的连接无响应，正在重连",
        "hall_offline": "大厅服务器离线",
        "clerk": "工作人员：{name}",
        "recent": "最近叫号",
        "windows": "窗口",
        "queue": "排队等候",
        "now_serving": "请 {number} 号",
        "sunshine": "阳光公示 · 今日服务",
        "sun_head": "窗口|工作人员|已办|平均用时|满意率",
        "minutes": "{value} 分钟",
        "no_rating": "暂无评价",
        "date": "{y}年{m}月{d}日 {weekday} {hm}",
    },
    "en": {
        "call": "Ticket {number} to {window}",
        "called_to": "{number}  →  {window}",
        "idle": "Waiting",
        "idle_cell": "Free",
        "paused": "Paused",
        "closed": "Closed",
        "waiting": "{name}  waiting {count}  longest {minutes} min",
        "stale": "Warning: this screen may be out of date ({why})",
        "disconnected": "connection to the hall lost, reconnecting",
        "connecting": "connecting to the hall",
        "hung": "connection to the hall not answering, reconnecting",
        "hall_offline": "the hall server is offline",
        "clerk": "Clerk: {name}",
        "recent": "Recent calls",
        "windows": "Windows",
        "queue": "Waiting",
        "now_serving": "Now serving {number}",
        "sunshine": "Today at each window",
        "sun_head": "Window|Clerk|Served|Mean time|Satisfied",
        "minutes": "{value} min",
        "no_rating": "no ratings",
        "date": "{y}-{m:02d}-{d:02d} {weekday} {hm}",
    },
}
WEEKDAYS = {
    "zh": ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}


def strings_for(languages: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    language = next((lang for lang in languages if lang in STRINGS), "zh")
    return language, STRINGS[language]
