"""The demo's clerk at one window: it works the terminal through its presenter, one press at a time,
exactly as a person's touches would (the same enabled buttons, the same one-request-at-a-time rule).

    hallq terminal --id w104 --windowed --autoplay     # what `hallq demo` starts

Log in as the roster's first clerk (a clerk with no PIN), then call next, start, serve for a few
hall minutes, finish (受理 for a service with a promised time), and again; with nobody waiting, try again a minute later. Never used outside
the demo: a real clerk's terminal has no such switch in its unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.presenter import TerminalPresenter

SERVE_HALL_SECONDS = 240.0  # how long the demo's clerk serves a visitor (hall time)
WALK_UP_HALL_SECONDS = 40.0  # from the call to the start: the visitor walks up
IDLE_HALL_SECONDS = 60.0  # nobody waiting: look again after this


@dataclass
class AutoClerk:
    presenter: TerminalPresenter

    def step(self) -> float:
        """Press what a clerk would press now; return the hall seconds until the next look."""
        p = self.presenter
        if p.pending is not None or not p.online:
            return 2.0
        view = p.view()
        if view.screen == "login":
            without_pin = [c for c, _, pin in view.roster if not pin]
            if without_pin:
                p.select_clerk(without_pin[0])
            return 5.0
        if view.status == "paused":
            p.press("resume")
            return 5.0
        ticket = view.ticket
        if ticket is None:
            p.press("call_next")
            return IDLE_HALL_SECONDS if p.message else WALK_UP_HALL_SECONDS
        if ticket.status == "called":
            p.press("start")
            return SERVE_HALL_SECONDS
        if view.panel == "finish" and view.choices:  # a service with a promised time
            p.choose(view.choices[-1])  # 受理: accepted as a case, as most such matters are
            return 10.0
        p.press("finish")
        return 10.0
