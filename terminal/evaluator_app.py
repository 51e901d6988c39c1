"""`hallq evaluator --id EVALUATOR_ID [--env FILE]`: the visitor's rating screen at a window.

It follows `window/{its window}/rating` (its window comes from its settings) and sends `rate` on its
own `evaluator/{id}/req`. Glue only: terminal/evaluator_presenter.py decides, evaluator_widgets.py
draws, terminal/link.py talks to the hall; the hall's time comes from its retained `clock`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contract import topics

TICK = 0.5


def build_evaluator_app(
    window_id: str,
    client: Any,
    catalog: dict[str, Any] | None,
    now: Callable[[], datetime],
    on_started: Callable[[Any], None] | None = None,
) -> Any:
    from kivy.app import App
    from kivy.clock import Clock

    from screens.kivy_setup import main_loop_dispatch, register_font
    from terminal.evaluator_presenter import EvaluatorPresenter
    from terminal.evaluator_widgets import EvaluatorRoot
    from terminal.link import Link

    register_font()

    class EvaluatorApp(App):  # type: ignore[misc]
        title = f"hallq evaluator ({window_id})"

        def build(self) -> Any:
            self.link = Link(client, main_loop_dispatch(self.refresh))
            self.presenter = EvaluatorPresenter(self.link, now)
            self.presenter.on_catalog(catalog)
            self.link.answered = self.presenter.on_answer
            self.root_widget = EvaluatorRoot(self.presenter)
            self.root_widget.on_change = self.refresh
            site = client.site
            self.link.follow(topics.window_rating(site, window_id), self.presenter.on_rating)
            self.link.follow(topics.catalog(site), self.presenter.on_catalog)
            Clock.schedule_interval(self._tick, TICK)
            self.refresh()
            return self.root_widget

        def on_start(self) -> None:
            if on_started is not None:
                on_started(self)

        def on_stop(self) -> None:
            self.link.stop()

        def refresh(self) -> None:
            self.root_widget.render(self.presenter.view())

        def _tick(self, _dt: float) -> None:
            self.presenter.tick()
            self.refresh()

    return EvaluatorApp()


def main(argv: list[str] | None = None) -> int:
    from terminal.startup import begin, run_app

    parser = argparse.ArgumentParser(
        prog="hallq evaluator",
        description="the visitor's rating screen (好差评) at a window. It starts from its env file "
        "of `hallq broker-config`; its window comes from the hall's settings.",
    )
    begun = begin(parser, argv, "evaluator")
    if begun is None:
        return 2
    _args, started = begun
    window_id = str(started.settings.get("window") or "")
    if not topics.ID_RE.match(window_id):
        started.client.close()
        print(f"hallq evaluator: {started.device_id!r} has no window in its settings", file=sys.stderr)  # fmt: skip
        return 2
    return run_app(
        started,
        lambda clock: build_evaluator_app(window_id, started.client, started.catalog, clock.now),
    )
