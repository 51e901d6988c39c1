"""The evaluator's logic, without a window: the visitor's 好差评 rating of the service just finished.

It follows its window's retained `window/{id}/rating`: when the hall says a ticket can be rated (until
`until`, the hall's time), it asks; a score of 3-5 is sent at once, 1-2 asks for reasons first (none
ticked is fine). A rating is never forced or faked: when `until` passes, or the hall clears the topic,
the screen goes back to idle and nothing is sent. A press while the rating is on its way does nothing.
After the hall's answer: a thanks screen for a few seconds, then idle.

The evaluator lives in the terminal package: it shares the link, the texts and the Kivy set-up with
the clerk's terminal, and both are the two faces of one window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from terminal import texts

THANKS_SECONDS = 5.0


class EvaluatorPort(Protocol):
    def send(self, op: str, fields: dict[str, Any], request_id: str | None = None) -> None: ...


@dataclass(frozen=True)
class EvaluatorView:
    screen: str  # "idle", "rate", "reasons", "thanks"
    title: str
    window_name: str
    clerk: str
    number: str
    service: str
    levels: list[tuple[int, str]]
    reasons: list[tuple[str, bool]]
    busy: bool
    message: str
    seconds_left: int


@dataclass
class EvaluatorPresenter:
    port: EvaluatorPort
    now: Callable[[], datetime]
    catalog: Mapping[str, Any] = field(default_factory=dict)
    rating: dict[str, Any] | None = None  # the hall's offer, while it stands
    screen: str = "idle"
    score: int | None = None
    ticked: list[str] = field(default_factory=list)
    busy: bool = False
    message: str = ""
    thanks_since: datetime | None = None
    finished: set[str] = field(default_factory=set)  # tickets this evaluator rated

    def on_catalog(self, value: Mapping[str, Any] | None) -> None:
        if value:
            self.catalog = value

    def on_rating(self, value: Mapping[str, Any] | None) -> None:
        ticket = (value or {}).get("ticket")
        if value is None or not isinstance(ticket, Mapping):
            self.rating = None
            if self.screen in ("rate", "reasons"):
                self._idle()
            return
        if ticket.get("id") in self.finished:
            return
        if self.rating is None or self.rating["ticket"].get("id") != ticket.get("id"):
            self.rating = dict(value)
            self.score, self.ticked, self.message, self.busy = None, [], "", False
            if self._left() > 0:
                self.screen, self.thanks_since = "rate", None

    def tick(self) -> None:
        if self.screen in ("rate", "reasons") and self._left() <= 0:
            self.rating = None
            self._idle()  # the ticket stays unrated
        elif self.screen == "thanks" and self._thanks_over():
            self._idle()
            if self.rating is not None and self._left() > 0:
                self.screen = "rate"  # a newer ticket waits

    def press_score(self, score: int) -> None:
        if self.screen != "rate" or self.busy or score not in texts.LEVELS:
            return
        self.score = score
        if score in texts.LOW_SCORES:
            self.screen, self.ticked = "reasons", []
            return
        self._send()

    def toggle_reason(self, reason: str) -> None:
        if self.screen != "reasons" or self.busy or reason not in texts.LOW_REASONS:
            return
        if reason in self.ticked:
            self.ticked.remove(reason)
        else:
            self.ticked.append(reason)

    def submit(self) -> None:
        if self.screen == "reasons" and not self.busy:
            self._send()

    def back(self) -> None:
        if self.screen == "reasons" and not self.busy:
            self.screen, self.score = "rate", None

    def _send(self) -> None:
        assert self.rating is not None and self.score is not None
        self.busy, self.message = True, ""
        fields: dict[str, Any] = {"ticket": self.rating["ticket"]["id"], "score": self.score}
        if self.ticked:
            fields["reasons"] = list(self.ticked)
        self.port.send("rate", fields)

    def on_answer(self, op: str, ok: bool, result: Mapping[str, Any] | None, code: str) -> None:
        self.busy = False
        ticket_id = (self.rating or {}).get("ticket", {}).get("id")
        if ok or code == "already_rated":
            if ticket_id:
                self.finished.add(str(ticket_id))
            self.rating = None
            self.screen, self.thanks_since = "thanks", self.now()
        elif code == "not_rateable":
            self.rating = None
            self._idle()
        else:  # the hall did not answer: the visitor may press again while the time lasts
            self.message = texts.EVALUATOR_FAILED

    def _thanks_over(self) -> bool:
        since = self.thanks_since
        return since is None or (self.now() - since).total_seconds() >= THANKS_SECONDS

    def _idle(self) -> None:
        self.screen, self.score, self.ticked, self.busy = "idle", None, [], False
        self.thanks_since = None

    def _left(self) -> float:
        if self.rating is None:
            return 0.0
        try:
            until = datetime.fromisoformat(str(self.rating.get("until")))
        except ValueError:
            return 0.0
        return (until - self.now()).total_seconds()

    def _service_name(self, code: str) -> str:
        for service in self.catalog.get("services") or []:
            if isinstance(service, Mapping) and service.get("code") == code:
                return str(service.get("name_zh") or code)
        return code

    def view(self) -> EvaluatorView:
        rating = self.rating or {}
        ticket = rating.get("ticket") or {}
        titles = {
            "idle": texts.EVALUATOR_IDLE,
            "rate": texts.EVALUATOR_ASK,
            "reasons": texts.EVALUATOR_REASONS,
            "thanks": texts.EVALUATOR_THANKS,
        }
        return EvaluatorView(
            screen=self.screen,
            title=titles[self.screen],
            window_name=str((rating.get("window") or {}).get("name") or ""),
            clerk=str((rating.get("clerk") or {}).get("name") or ""),
            number=str(ticket.get("number") or ""),
            service=self._service_name(str(ticket.get("service") or "")) if ticket else "",
            levels=sorted(texts.LEVELS.items(), reverse=True),
            reasons=[(r, r in self.ticked) for r in texts.LOW_REASONS],
            busy=self.busy,
            message=self.message,
            seconds_left=max(0, int(self._left())) if self.screen in ("rate", "reasons") else 0,
        )
