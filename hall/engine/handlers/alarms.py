"""The alarms' commands and events (issue 19): the engine keeps the open alarms.

- `ReconcileAlarms` (the service's timer): opens an alarm for each condition of hall/engine/alarms.py
  that has none and clears those whose condition ended (`AlarmRaised` / `AlarmCleared`);
- `KioskHelp` (kiosk op `help`): a `kiosk_help` alarm naming the kiosk (one open per kiosk);
- a rating of 1 or 2 raises `bad_rating` (from `rate`, through `raise_alarm`);
- `AckAlarm` / `NoteAlarm` (operator ops `alarm_ack`, `alarm_note`): the follow-up, recorded as
  events; a note may close a single-event alarm (bad_rating, kiosk_help).

Each alarm has one id from raised to cleared (`{kind}-{n}`, n never reset), kept in the state and
so in snapshots and the event log: a restart neither repeats nor loses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from contract import messages as m
from contract.protocol import iso
from hall.engine.alarms import CONDITION_KINDS, EVENT_KINDS, conditions
from hall.engine.errors import HallError
from hall.engine.handlers.common import Handled, apply_events, check_kiosk, check_operator
from hall.engine.model import (
    AckAlarm,
    AlarmAcked,
    AlarmCleared,
    AlarmCondition,
    AlarmNoted,
    AlarmRaised,
    Event,
    KioskHelp,
    NoteAlarm,
    OpenAlarm,
    ReconcileAlarms,
)
from hall.engine.now import Now

if TYPE_CHECKING:
    from hall.engine.engine import Engine

NOTE_MAX = 500  # characters of an operator's follow-up note
SCORE_TEXT = {1: "非常不满意", 2: "不满意"}


def raise_alarm(engine: Engine, condition: AlarmCondition, clock: Now) -> AlarmRaised:
    """The event that opens an alarm for `condition` (not yet applied)."""
    number = engine.state.alarm_seq + 1
    since = datetime.fromtimestamp(min(condition.since, clock.ts), tz=engine.zone)
    return AlarmRaised(
        at=clock.at,
        id=f"{condition.kind}-{number}",
        kind=condition.kind,
        severity=condition.severity,
        subject=condition.subject,
        text=condition.text,
        since=iso(since),
    )


def cleared(alarm: OpenAlarm, at: str, by: str | None = None) -> AlarmCleared:
    return AlarmCleared(at, alarm.id, alarm.kind, alarm.severity, alarm.subject, alarm.text, by)


def _same(alarm: OpenAlarm, condition: AlarmCondition) -> bool:
    """Whether an open alarm still stands for the condition; a device's other fault is another."""
    if alarm.severity != condition.severity:
        return False
    return alarm.kind != "device_fault" or alarm.text == condition.text


def reconcile(engine: Engine, cmd: ReconcileAlarms, clock: Now) -> Handled:
    wanted = {(c.kind, c.subject): c for c in [*conditions(engine, clock.ts), *cmd.observed]}
    events: list[Event] = []
    keep = set(cmd.keep)
    for alarm in list(engine.state.alarms.values()):
        if alarm.kind not in CONDITION_KINDS:
            continue
        if (alarm.kind, alarm.subject) in keep:
            wanted.pop((alarm.kind, alarm.subject), None)
            continue
        condition = wanted.get((alarm.kind, alarm.subject))
        if condition is not None and _same(alarm, condition):
            del wanted[(alarm.kind, alarm.subject)]
        else:
            events += apply_events(engine, [cleared(alarm, clock.at)])
    for condition in wanted.values():
        events += apply_events(engine, [raise_alarm(engine, condition, clock)])
    return events, {"alarms": len(engine.state.alarms)}


def kiosk_help(engine: Engine, cmd: KioskHelp, clock: Now) -> Handled:
    check_kiosk(engine, cmd.kiosk)
    for alarm in engine.state.alarms.values():
        if alarm.kind == "kiosk_help" and alarm.subject == cmd.kiosk:
            return [], m.HelpResult(alarm=alarm.id).to_json()  # already called: once is enough
    text = f"取号机 {cmd.kiosk} 请求协助 (kiosk {cmd.kiosk} calls for help)"
    condition = AlarmCondition("kiosk_help", cmd.kiosk, "warn", text, clock.ts)
    event = raise_alarm(engine, condition, clock)
    return apply_events(engine, [event]), m.HelpResult(alarm=event.id).to_json()


def bad_rating(
    engine: Engine, ticket: str, number: str, window: str, score: int, clock: Now
) -> AlarmRaised:
    """The `bad_rating` alarm of a rating of 1 or 2 (the caller applies it)."""
    level = SCORE_TEXT.get(score, str(score))
    config = engine.config.window(window)
    where = config.name if config is not None else window
    text = f"{number} 在 {where} 的评价为「{level}」 (rated {score} at {window})"
    return raise_alarm(engine, AlarmCondition("bad_rating", ticket, "warn", text, clock.ts), clock)


def _known_alarm(engine: Engine, alarm_id: str) -> OpenAlarm:
    alarm = engine.state.alarms.get(alarm_id)
    if alarm is None:
        raise HallError(
            "unknown_alarm", "没有这个告警或已解除", f"no open alarm {alarm_id!r} (cleared?)"
        )
    return alarm


def ack(engine: Engine, cmd: AckAlarm, clock: Now) -> Handled:
    check_operator(engine, cmd.operator)
    alarm = _known_alarm(engine, cmd.alarm)
    if alarm.acked_by is not None:
        raise HallError(
            "invalid_transition", "该告警已确认", f"alarm {alarm.id} is acknowledged already"
        )
    events = apply_events(engine, [AlarmAcked(clock.at, alarm.id, cmd.operator)])
    return events, m.AlarmResult(alarm=open_alarm_message(alarm)).to_json()


def note(engine: Engine, cmd: NoteAlarm, clock: Now) -> Handled:
    check_operator(engine, cmd.operator)
    alarm = _known_alarm(engine, cmd.alarm)
    text = cmd.text.strip()
    if not text or len(text) > NOTE_MAX:
        raise HallError(
            "invalid_request", "备注应为1到500字", f"a note has 1 to {NOTE_MAX} characters"
        )
    if cmd.close and alarm.kind not in EVENT_KINDS:
        raise HallError(
            "invalid_transition",
            "该告警在情况消除时自动解除，不能手动关闭",
            f"a {alarm.kind} alarm clears when its condition ends: only "
            f"{', '.join(sorted(EVENT_KINDS))} alarms are closed with a note",
        )
    events: list[Event] = apply_events(engine, [AlarmNoted(clock.at, alarm.id, cmd.operator, text)])
    message = open_alarm_message(alarm)  # with the note, before it is closed
    if cmd.close:
        events += apply_events(engine, [cleared(alarm, clock.at, cmd.operator)])
    return events, m.AlarmResult(alarm=message).to_json()


# -- appliers ------------------------------------------------------------------------------------


def raised(engine: Engine, e: AlarmRaised) -> None:
    state = engine.state
    state.alarm_seq = max(state.alarm_seq, int(e.id.rsplit("-", 1)[1]))
    state.alarms[e.id] = OpenAlarm(e.id, e.kind, e.severity, e.subject, e.text, e.since)


def alarm_cleared(engine: Engine, e: AlarmCleared) -> None:
    engine.state.alarms.pop(e.id, None)


def acked(engine: Engine, e: AlarmAcked) -> None:
    alarm = engine.state.alarms.get(e.id)
    if alarm is not None:
        alarm.acked_by, alarm.acked_at = e.operator, e.at


def noted(engine: Engine, e: AlarmNoted) -> None:
    alarm = engine.state.alarms.get(e.id)
    if alarm is not None:
        alarm.notes.append([e.operator, e.at, e.text])


# (Each is listed in hall/engine/apply.py's APPLIERS, the one table of appliers.)

# -- views ---------------------------------------------------------------------------------------


def alarm_message(event: AlarmRaised | AlarmCleared) -> m.Alarm:
    """The `alarm` message of a raise (`at`: when the condition arose) or a clear (`at`: now)."""
    return m.Alarm(
        id=event.id,
        kind=event.kind,
        severity=event.severity,
        subject=event.subject,
        text=event.text,
        at=event.since if isinstance(event, AlarmRaised) else event.at,
        cleared=isinstance(event, AlarmCleared),
    )


def open_alarm_message(alarm: OpenAlarm) -> m.OpenAlarm:
    return m.OpenAlarm(
        id=alarm.id,
        kind=alarm.kind,
        severity=alarm.severity,
        subject=alarm.subject,
        text=alarm.text,
        at=alarm.at,
        cleared=False,
        acked=None
        if alarm.acked_by is None or alarm.acked_at is None
        else m.AlarmAck(by=alarm.acked_by, at=alarm.acked_at),
        notes=tuple(m.AlarmNote(by=by, at=at, text=text) for by, at, text in alarm.notes),
    )


def open_alarms(engine: Engine) -> list[m.OpenAlarm]:
    """The open alarms, newest first. The copy of the dict's values is made in one step (under the
    GIL), so another thread (the metrics) may read them while the worker changes them."""
    alarms = list(engine.state.alarms.values())
    return [open_alarm_message(a) for a in reversed(alarms)]
