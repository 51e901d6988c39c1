"""`hallq kiosk --id ID`: the ticket kiosk, a Kivy touchscreen app.

    hallq kiosk --id k01 [--config hall.toml] [--portrait|--landscape] [--windowed] [--screenshot-dir DIR]

The app is glue: the presenter (kiosk/presenter.py) decides, the widgets (kiosk/widgets.py) draw, the
device (kiosk/device.py) talks to the hall, the printer and the voice. Network and printer results
reach the presenter on Kivy's main loop through `Clock.schedule_once`; the UI thread never waits.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TICK = 0.25  # seconds between presenter ticks (timers, idle, link state)
SCREENSHOT_EVERY = 15.0  # seconds, with --screenshot-dir


def build_app(
    device_factory: Callable[[Any, Callable[[Callable[[], None]], None]], Any],
    *,
    portrait: bool,
    allow_priority: bool,
    languages: tuple[str, ...] = ("zh", "en"),
    on_started: Callable[[Any], None] | None = None,
    screenshots: tuple[Path, str] | None = None,
) -> Any:
    """The Kivy App, created only after kivy_environment(); `device_factory(presenter, dispatch)`
    returns the KioskDevice (or a fake)."""
    from kivy.app import App
    from kivy.clock import Clock

    from kiosk.presenter import KioskPresenter
    from kiosk.widgets import KioskRoot
    from screens.kivy_setup import main_loop_dispatch, register_font

    register_font()

    def redraw() -> None:
        app = App.get_running_app()
        if app is not None:
            app.refresh()

    # A network or printer result runs on the main loop, then what it changed is drawn.
    dispatch = main_loop_dispatch(redraw)

    class KioskApp(App):  # type: ignore[misc]
        title = "hallq kiosk"

        def build(self) -> Any:
            self.presenter = KioskPresenter(
                port=_PortProxy(), allow_priority=allow_priority, languages=languages
            )
            # Its time before anything arrives: a ticket resumed from the journal can come
            # before the first timer tick, and is shown for its seconds from now.
            self.presenter.tick(time.monotonic())
            self.device = device_factory(self.presenter, dispatch)
            self.presenter.port = self.device
            self.root_widget = KioskRoot(self.presenter, portrait=portrait)
            self.root_widget.on_change = self.refresh
            self.device.subscribe(self._catalog, self._queues, self._link)
            Clock.schedule_interval(self._tick, TICK)
            self.refresh()
            return self.root_widget

        def on_start(self) -> None:
            # Everything built so far lives as long as the app: keep the collector off it, so the
            # collection after each new screen (kiosk/widgets.py) is shorter.
            gc.freeze()
            if on_started is not None:
                on_started(self)
            if (
                screenshots is not None
            ):  # a kiosk with no screen (the demo): what it shows, every 15 s
                Clock.schedule_interval(lambda _dt: self.screenshot(), SCREENSHOT_EVERY)

        def screenshot(self) -> None:
            from kivy.core.window import Window

            assert screenshots is not None
            folder, name = screenshots
            folder.mkdir(parents=True, exist_ok=True)
            written = Window.screenshot(name=str(folder / f"{name}-.png"))
            if written:  # Kivy numbers its screenshots: keep one file per kiosk
                Path(written).replace(folder / f"{name}.png")

        def on_stop(self) -> None:
            self.device.stop()

        def refresh(self) -> None:
            view = self.presenter.view()
            self.presenter.page_size = _page_size(portrait, view.large)
            self.root_widget.render(self.presenter.view())

        def _catalog(self, value: dict[str, Any]) -> None:
            self.presenter.on_catalog(value)
            self.refresh()

        def _queues(self, value: dict[str, Any]) -> None:
            self.presenter.on_queues(value)
            self.refresh()

        def _link(self, connected: bool, hall_online: bool) -> None:
            self.presenter.on_link(connected, hall_online)
            self.refresh()

        def _tick(self, _dt: float) -> None:
            self.presenter.tick(time.monotonic())
            self.device.poll_printer()
            self.refresh()

    return KioskApp()


class _PortProxy:
    """Stands in for the device while the app builds (the presenter needs a port at once)."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def _page_size(portrait: bool, large: bool) -> int:
    if portrait:
        return 6 if large else 12
    return 4 if large else 12


def prepare(
    setup: Any,
    client: Any,
    *,
    portrait: bool,
    windowed: bool,
    on_started: Callable[[Any], None] | None = None,
    printer_poll: float | None = None,
    wav_dir: Path | None = None,
    screenshot_dir: Path | None = None,
) -> Any:
    """The app of the kiosk `setup` (kiosk/setup.py) on `client`."""
    from screens.kivy_setup import kivy_environment

    kivy_environment(windowed, (1080, 1920) if portrait else (1920, 1080))
    from kiosk.speech import make_speaker
    from voice.manifest import ManifestError

    try:
        speaker = make_speaker(setup.languages, wav_dir)
    except ManifestError as exc:  # the kiosk serves without its voice rather than not at all
        log.error("the kiosk's voice cannot start: %s", exc)
        speaker = None

    def device(presenter: Any, dispatch: Callable[[Callable[[], None]], None]) -> Any:
        from kiosk.device import PRINTER_POLL, KioskDevice

        printer = None
        if setup.printer is not None:
            from hardware.printer.printer import TicketPrinter

            printer = TicketPrinter(setup.printer, device_id=setup.kiosk_id)
        return KioskDevice(
            client,
            presenter,
            dispatch,
            printer,
            ticket_url=setup.ticket_url,
            printer_poll=PRINTER_POLL if printer_poll is None else printer_poll,
            language=setup.languages[0],
            speaker=speaker,
        )

    return build_app(
        device,
        portrait=portrait,
        allow_priority=setup.allow_priority,
        languages=setup.languages,
        on_started=on_started,
        screenshots=(screenshot_dir, setup.kiosk_id) if screenshot_dir is not None else None,
    )


def connect(args: argparse.Namespace) -> tuple[Any, Any]:
    """The kiosk's setup and client: from its env file and the hall's settings topic, or (the demo,
    tests) from a hall config file."""
    from contract.client import HallClient
    from contract.device_env import default_cache_dir, device_env
    from kiosk.setup import setup_from_config, wait_for_settings

    # The journal of a pending `issue` lives beside the settings: a kiosk restarted mid-request
    # sends it again under its id and prints the ticket the hall issued.
    if args.config:
        setup, address = setup_from_config(Path(args.config), args.id)
        cache = Path(args.cache) if args.cache else default_cache_dir(os.environ)
        client = HallClient.connect(
            address,
            setup.site,
            "kiosk",
            setup.kiosk_id,
            wait=None,
            journal=cache / f"{setup.kiosk_id}.journal",
        )
        return setup, client
    env = device_env(Path(args.env) if args.env else None, args.id)
    cache = Path(args.cache) if args.cache else env.cache_dir
    client = HallClient.connect(
        env.address,
        env.site,
        "kiosk",
        env.device_id,
        wait=None,
        journal=cache / f"{env.device_id}.journal",
    )
    try:
        return wait_for_settings(client, env.device_id, cache), client
    except BaseException:
        client.close()
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hallq kiosk", description=__doc__)
    parser.add_argument("--id", help="the kiosk's id (default: HALLQ_DEVICE_ID of its env file)")
    parser.add_argument("--env", help="the kiosk's env file of `hallq broker-config`")
    parser.add_argument(
        "--cache", help="where to keep its last settings (default: HALLQ_CACHE_DIR)"
    )
    parser.add_argument(
        "--config", help="read the kiosk's section from this hall config (the demo)"
    )
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--portrait", action="store_true", help="1080x1920 (the default)")
    shape.add_argument("--landscape", action="store_true", help="1920x1080")
    parser.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    parser.add_argument(
        "--wav-dir", type=Path, help="write what the kiosk says as WAV files here (no sound card)"
    )
    parser.add_argument(
        "--screenshot-dir", type=Path, help="save what it shows as DIR/ID.png every 15 s"
    )
    args = parser.parse_args(argv)
    if args.config and not args.id:
        parser.error("--config needs --id")
    from screens.screen_cli import start_logging

    start_logging()
    from contract.device_env import DeviceEnvError
    from kiosk.setup import KioskSetupError

    try:
        setup, client = connect(args)
    except (DeviceEnvError, KioskSetupError, ValueError) as exc:
        print(f"hallq kiosk: {exc}", file=sys.stderr)
        return 2
    log.info("kiosk %s: settings from the %s", setup.kiosk_id, setup.source)
    try:
        prepare(
            setup,
            client,
            portrait=not args.landscape,
            windowed=args.windowed,
            wav_dir=args.wav_dir,
            screenshot_dir=args.screenshot_dir,
        ).run()
    finally:
        client.close()
    return 0
