"""`hallq terminal --id WINDOW_ID [--env FILE]`: the window terminal, a Kivy app for the clerk.

The app is glue: the presenter (terminal/presenter.py) decides, the widgets (terminal/widgets.py)
draw, the link (terminal/link.py) talks to the hall. Network results reach the presenter on Kivy's
main loop through `Clock.schedule_once`; the UI thread never waits. Keys: F1..F12 (shown on each
button), Escape, Enter, digits and letters for a number or a PIN.
"""

from __future__ import annotations

import argparse
import gc
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contract import topics

log = logging.getLogger(__name__)

TICK = 0.5  # seconds between presenter ticks (link state, waited minutes)


def build_terminal_app(
    window_id: str,
    client: Any,
    settings: dict[str, Any],
    catalog: dict[str, Any] | None,
    now: Callable[[], datetime],
    on_started: Callable[[Any], None] | None = None,
    autoplay: Callable[[float], float] | None = None,
) -> Any:
    """The Kivy App (create it only after kivy_environment()); `client` is a HallClient. With
    `autoplay` (hall seconds -> real seconds) the demo's clerk works it (terminal/autoplay.py)."""
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window

    from screens.kivy_setup import key_name, main_loop_dispatch, register_font
    from terminal.link import Link
    from terminal.presenter import TerminalPresenter
    from terminal.widgets import TerminalRoot

    register_font()

    class TerminalApp(App):  # type: ignore[misc]
        title = f"hallq terminal {window_id}"

        def build(self) -> Any:
            self.link = Link(client, main_loop_dispatch(self.refresh))
            self.presenter = TerminalPresenter(window_id, self.link, now)
            self.presenter.on_settings(settings)
            self.presenter.on_catalog(catalog)
            self.link.answered = self.presenter.on_answer
            self.root_widget = TerminalRoot(self.presenter)
            self.root_widget.on_change = self.refresh
            self.hall_online = False  # until the retained status/hall says otherwise
            site = client.site
            self.link.follow(topics.window_state(site, window_id), self.presenter.on_window_state)
            self.link.follow(topics.catalog(site), self.presenter.on_catalog)
            self.link.follow(topics.queues(site), self.presenter.on_queues)
            self.link.follow(topics.stats(site), self.presenter.on_stats)
            self.link.follow(topics.cases(site), self.presenter.on_cases)  # its open cases
            self.link.follow_hall(self._hall_status)
            Window.bind(on_key_down=self._key)
            Clock.schedule_interval(self._tick, TICK)
            self.refresh()
            return self.root_widget

        def on_start(self) -> None:
            if autoplay is not None:
                from terminal.autoplay import AutoClerk

                self.auto_clerk = AutoClerk(self.presenter)
                Clock.schedule_once(self._autoplay, 3)
            # Everything built so far lives as long as the app: keep the collector off it, so
            # a full collection does not hold the main loop while a call's answer waits.
            gc.freeze()
            if on_started is not None:
                on_started(self)

        def on_stop(self) -> None:
            self.link.stop()

        def refresh(self) -> None:
            self.root_widget.render(self.presenter.view())

        def _key(self, _window: Any, key: int, _scancode: int, codepoint: str | None, _mods: Any) -> bool:  # fmt: skip
            name = key_name(key, codepoint)
            if name is None:
                return False
            self.presenter.key(name)
            self.refresh()
            return True

        def _autoplay(self, _dt: float) -> None:
            assert autoplay is not None
            wait = self.auto_clerk.step()
            self.refresh()
            Clock.schedule_once(self._autoplay, min(30.0, max(0.2, autoplay(wait))))

        def _hall_status(self, online: bool) -> None:
            self.hall_online = online
            self.presenter.on_link(client.connected, online)

        def _tick(self, _dt: float) -> None:
            self.presenter.on_link(client.connected, self.hall_online)
            self.presenter.tick()
            self.refresh()

    return TerminalApp()


def main(argv: list[str] | None = None) -> int:
    from terminal.startup import begin, run_app

    parser = argparse.ArgumentParser(
        prog="hallq terminal",
        description="the window terminal (the clerk's call-next screen). It starts from its env "
        "file of `hallq broker-config` and takes its roster and names from the hall.",
    )
    parser.add_argument(
        "--autoplay", action="store_true", help="the demo: a clerk of its own works this window"
    )
    begun = begin(parser, argv, "window")
    if begun is None:
        return 2
    args, started = begun

    def build(clock: Any) -> Any:
        app = build_terminal_app(
            started.device_id, started.client, started.settings, started.catalog, clock.now,
            autoplay=clock.real_seconds if args.autoplay else None,
        )  # fmt: skip
        started.settings_listeners.append(lambda value: _later(app, "on_settings", value))
        return app

    return run_app(started, build)


def _later(app: Any, method: str, value: Any) -> None:
    """A settings change from the follower's thread, onto the main loop."""
    from kivy.clock import Clock

    def run(_dt: float) -> None:
        if getattr(app, "presenter", None) is not None:
            getattr(app.presenter, method)(value)
            app.refresh()

    Clock.schedule_once(run, 0)
