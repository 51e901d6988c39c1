"""`hallq demo`: the whole example hall on this machine, in one command (the README's `make demo`).

    hallq demo [--config deploy/examples/prefecture-hall.toml] [--speed 10] [--dir .demo]

It starts, each as its own process with its own log in DIR/logs/:
- a private Mosquitto (the system's binary) on two free loopback ports, configured by
  `hallq broker-config` (passwords, ACL, one credentials file per device): the hall server on the
  plain loopback listener, every device through TLS with the demo's own CA;
- the hall server on the example hall, its clock running from today's opening (a working day not
  yet over) or the next working day's, by the hall's calendar, at --speed times real time (the
  demo does not depend on the real hour);
- for every LED bridge of the config, an emulated bus of LED boards and the LED bridge; for every
  keypad bridge, an emulated keypad bus and the keypad bridge (each bus on a pty of the demo);
- an emulated ticket printer and a kiosk of the demo's own that prints on it now and then;
- an announcer (`hallq announcer`) for the speakers of the first floor, writing each call it says,
  in Mandarin and English, as a WAV file under DIR/wav/ (no sound device needed);
- `hallq simulate`: visitors taking tickets at the kiosks, clerks calling and serving them at
  every window, visitors rating them; each device connected with its own credentials;
- an operator's view of the hall that prints what happens, one line per event.

Ctrl-C (or SIGTERM) stops everything it started, whole process groups, escalating to SIGKILL for a
child that does not stop, and says where the logs are. A child that dies is reported with the last
lines of its log; without the broker or the hall server the demo stops.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO

from contract.device_env import read_env_file
from hall.config.schema import ConfigError, HallConfig
from hallq import demo_report as report
from hallq import demo_setup as setup
from hallq.demo_console import Console, DeviceLines
from hallq.demo_keypad import KeypadPlayer
from hallq.demo_procs import Child, Spec, Supervisor
from hallq.demo_watch import HALL_ONLINE

log = logging.getLogger("hallq.demo")

DEFAULT_SPEED = 10.0
HALL_ONLINE_WAIT = 30.0  # real seconds for the hall server to come online
EMULATOR_WAIT = 5.0  # real seconds for an emulator to make its pty link
BROKER_WAIT = 10.0  # real seconds for mosquitto to listen
BROKER_ATTEMPTS = 5  # a free port may be taken by someone else before mosquitto binds it
KIOSK_EVERY_HALL_MIN = 3.0  # the demo kiosk issues and prints a ticket this often (hall time)
TAIL_LINES = 12


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None


def listening(port: int) -> bool:
    """Something listens on 127.0.0.1:port. Read from /proc/net/tcp where there is one: a probe
    connection to the TLS listener would only leave a failed handshake in the broker's log."""
    table = Path("/proc/net/tcp")
    if table.exists():
        wanted = f"0100007F:{port:04X}"
        for row in table.read_text().splitlines()[1:]:
            fields = row.split()
            if len(fields) > 3 and fields[1] == wanted and fields[3] == "0A":  # 0A: LISTEN
                return True
        return False
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.paths = setup.DemoPaths(Path(args.dir).resolve())
        self.source = Path(args.config).resolve()
        self.speed: float = args.speed
        self.stop_requested = threading.Event()
        self.signals = 0
        self.hall_online = threading.Event()
        self.supervisor = Supervisor(self.paths.logs)
        self.console: Console | None = None
        self.device_lines: DeviceLines | None = None
        self.config: HallConfig | None = None
        self.keypad: KeypadPlayer | None = None  # the keypad clerk the demo plays
        self.lock: IO[str] | None = None  # held while the demo runs (flock)

    # -- signals
    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        self.stop_requested.set()
        if self.signals > 1:  # Ctrl-C again while stopping: do not wait for anyone
            self.supervisor.hurry.set()

    # -- output of the children the console shows
    def on_watch_line(self, line: str) -> None:
        assert self.console is not None
        if HALL_ONLINE in line:
            self.hall_online.set()
        if self.keypad is not None:
            self.keypad.heard(line)
        self.console.heard(line)
        if line.strip():
            self.console.say(line)

    def on_kiosk_line(self, line: str) -> None:
        assert self.console is not None
        if line.strip():
            self.console.say(line)

    # -- starting
    def python(self, *args: str) -> list[str]:
        return [sys.executable, "-m", *args]

    def device_env(self, account: str) -> dict[str, str]:
        env = read_env_file(self.paths.env_file(account))
        return {k: v for k, v in env.items() if k.startswith("HALLQ_")}

    def started(self, child: Child, what: str) -> None:
        assert self.console is not None
        rel = os.path.relpath(child.log_path)
        self.console.say(f"  {child.name:<18} pid {child.pid:<7} {what}   log {rel}")

    def start_broker(self, mosquitto: str, config: HallConfig) -> setup.BrokerFiles:
        assert self.console is not None
        for attempt in range(1, BROKER_ATTEMPTS + 1):
            files = setup.broker_files(config, self.paths)
            for line in files.report.lines():
                log.info("broker-config: %s", line)
            child = self.supervisor.start(
                Spec("broker", [mosquitto, "-c", str(files.conf)], critical=True)
            )
            deadline = time.monotonic() + BROKER_WAIT
            while time.monotonic() < deadline and child.running:
                if listening(files.local_port) and listening(files.tls_port):
                    self.started(
                        child,
                        f"mosquitto on 127.0.0.1:{files.local_port} (hall) and "
                        f":{files.tls_port} (devices, TLS)",
                    )
                    return files
                time.sleep(0.05)
            tail = "\n".join(child.tail())
            self.supervisor.stop(["broker"])
            self.supervisor.children.remove(child)
            log.warning("broker attempt %d failed: %s", attempt, tail)
            if attempt == BROKER_ATTEMPTS:
                raise RuntimeError(f"mosquitto did not start; the end of its log:\n{tail}")
        raise AssertionError("unreachable")

    def start_devices(self, config: HallConfig, hall: Path) -> None:
        """Every bus of the config: its emulator, then its bridge; the printer."""
        assert self.device_lines is not None
        for bridge in config.bridges:
            if bridge.bus is None:
                continue
            units = len(bridge.bus.boards if bridge.kind == "led" else bridge.bus.keypads)
            if not units:
                continue
            if bridge.kind == "led":
                emulator = Spec(
                    f"{bridge.id}-emulator",
                    self.python("hallq", "led-emulator", "--config", str(hall), "--id", bridge.id),
                    on_line=self.device_lines.led(bridge.id),
                )
                what = f"LED bus of {units} boards on {os.path.relpath(bridge.bus.port)}"
            else:
                emulator = Spec(
                    f"{bridge.id}-emulator",
                    self.python(
                        "hallq", "keypad-emulator", "--config", str(hall), "--id", bridge.id
                    ),
                    on_line=self.device_lines.keypad(bridge.id),
                    stdin_pipe=True,  # it reads keys; at the end of its input it stops
                )
                what = f"keypad bus of {units} keypads on {os.path.relpath(bridge.bus.port)}"
            self.started(self.supervisor.start(emulator), what)
            self.wait_for_path(Path(bridge.bus.port))  # the bridge's first open then succeeds
            bridge_spec = Spec(
                bridge.id,
                self.python(
                    "hallq", f"{bridge.kind}-bridge", "--config", str(hall), "--id", bridge.id
                ),
                env=self.device_env(bridge.id),
            )
            self.started(
                self.supervisor.start(bridge_spec),
                f"{bridge.kind} bridge for {len(bridge.windows)} windows",
            )
        for announcer in config.announcers:
            wav = self.paths.wav / announcer.id
            spec = Spec(
                announcer.id,
                self.python(
                    "hallq", "announcer", "--id", announcer.id, "--config", str(hall),
                    "--wav-dir", str(wav), "--state-dir", str(self.paths.data),
                ),
                env=self.device_env(announcer.id),
            )  # fmt: skip
            areas = ", ".join(announcer.areas) or "every area"
            self.started(
                self.supervisor.start(spec),
                f"announcer for {areas} in {'+'.join(announcer.languages)}: its calls as WAV "
                f"files in {os.path.relpath(wav)}",
            )
        printer = Spec(
            "printer-emulator",
            self.python(
                "hallq",
                "printer-emulator",
                "--no-tcp",
                "--link",
                str(self.paths.dev / "printer"),
                "--out",
                str(self.paths.tickets),
            ),
        )
        self.started(
            self.supervisor.start(printer),
            f"ESC/POS printer, tickets as PNG in {os.path.relpath(self.paths.tickets)}",
        )

    def start_flow(self, wired: setup.WiredHall) -> None:
        assert self.console is not None
        console = self.console
        sim = [
            "hallq",
            "simulate",
            "--config",
            str(wired.simulate_path),
            "--credentials",
            str(self.paths.broker),
            "--speed",
            f"{self.speed:g}",
        ]
        if self.args.seed is not None:
            sim += ["--seed", str(self.args.seed)]
        keypad = self.keypad
        played = len(wired.config.windows)
        if keypad is not None:
            played -= 1  # the last window is the keypad clerk's
            keypad.begin()
        screens = bool(os.environ.get("DISPLAY")) and played > 1
        if screens:
            played -= 1  # the one before is the terminal's: a person at the demo works it
        if played < len(wired.config.windows):
            sim += ["--windows", str(played)]
        self.started(
            self.supervisor.start(Spec("simulate", self.python(*sim))),
            f"visitors; clerks at {played} windows; evaluators (each device with its own "
            "credentials)",
        )
        if keypad is not None:
            clerk = keypad.clerk
            console.say(
                f"  {'keypad clerk':<18} the demo keys window {clerk.window} on keypad "
                f"{clerk.address} of {clerk.bridge} (clerk {clerk.clerk})"
            )
        kiosk = Spec(
            "demo-kiosk",
            self.python(
                "hallq.demo_kiosk",
                "--config",
                str(wired.path),
                "--id",
                setup.KIOSK_ID,
                "--every",
                f"{KIOSK_EVERY_HALL_MIN * 60 / self.speed:g}",
                *(f"--prefer={code}" for code in (keypad.services(wired.config) if keypad else [])),
            ),
            env=self.device_env(setup.KIOSK_ID),
            on_line=self.on_kiosk_line,
        )
        self.started(self.supervisor.start(kiosk), "a kiosk that prints its tickets")
        self.start_screens(wired)
        if screens:
            self.start_clerk_screens(wired.config, wired.config.windows[played].id)

    def start_screens(self, wired: setup.WiredHall) -> None:
        """One hall screen and one window screen: in windows where there is a display, else each
        saves a screenshot into screens/ every 15 s (SDL draws offscreen)."""
        headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        folder = self.paths.root / "screens"
        for kind, size in (("hall", "1280x720"), ("window", "960x540")):
            screen = next((d for d in wired.config.displays if d.kind == kind), None)
            if screen is None:
                continue
            # Niced: on a small machine the screens must not slow the hall they show.
            argv = ["nice", "-n", "10"]
            argv += self.python("hallq", "display", "--id", screen.id, "--config", str(wired.path))
            argv += ["--size", size]
            if headless:
                argv += ["--screenshot-dir", str(folder), "--screenshot-every", "15"]
            env = {**self.device_env(screen.id), "KIVY_HOME": str(self.paths.root / "kivy")}
            what = f"{kind} screen " + (
                f"(no display: screenshot in {os.path.relpath(folder)}/{screen.id}.png)"
                if headless
                else "in a window"
            )
            self.started(self.supervisor.start(Spec(f"display-{screen.id}", argv, env=env)), what)
        self.start_touch_kiosk(wired, headless, folder)
        self.start_monitor(wired, headless)

    def start_monitor(self, wired: setup.WiredHall, headless: bool) -> None:
        """The monitoring room's screen, in a window, where there is a display (its operator's
        env file, as on a real operator machine)."""
        operator = next((o for o in wired.config.operators if o.id != setup.WATCH_ID), None)
        if operator is None or headless:
            return
        argv = ["nice", "-n", "10"]
        argv += self.python("hallq", "monitor", "--id", operator.id, "--size", "1600x900")
        argv += ["--env", str(self.paths.env_file(operator.id))]
        env = {"KIVY_HOME": str(self.paths.root / "kivy")}
        spec = Spec(f"monitor-{operator.id}", argv, env=env)
        self.started(self.supervisor.start(spec), "the monitoring room's screen in a window")

    def start_touch_kiosk(self, wired: setup.WiredHall, headless: bool, folder: Path) -> None:
        """The Kivy kiosk, printing on a printer emulator of its own: in a window a person at the
        demo taps, else (no display) drawn offscreen with a screenshot every 15 s."""
        kiosk = setup.TOUCH_KIOSK_ID
        tickets = self.paths.tickets / "touch"
        printer = self.python(
            "hallq", "printer-emulator", "--no-tcp", "--link", str(self.paths.dev / "printer-touch"),
            "--out", str(tickets),
        )  # fmt: skip
        self.supervisor.start(Spec("printer-touch", printer))
        argv = ["nice", "-n", "10"]
        argv += self.python("hallq", "kiosk", "--id", kiosk, "--config", str(wired.path))
        argv += ["--landscape", "--windowed", "--wav-dir", str(self.paths.root / "wav" / kiosk)]
        if headless:
            argv += ["--screenshot-dir", str(folder)]
        env = {**self.device_env(kiosk), "KIVY_HOME": str(self.paths.root / "kivy")}
        env["HALLQ_CACHE_DIR"] = str(self.paths.root / "device-cache")
        what = "touch kiosk " + (
            f"(no display: screenshot in {os.path.relpath(folder)}/{kiosk}.png)"
            if headless
            else "in a window: tap it"
        )
        self.started(
            self.supervisor.start(Spec(f"kiosk-{kiosk}", argv, env=env)),
            f"{what}; its tickets as PNG in {os.path.relpath(tickets)}",
        )

    def start_clerk_screens(self, config: HallConfig, window: str) -> None:
        """Where a display is available: the terminal and the evaluator of a window no simulated
        clerk plays (each device has one connection: its user name is its client id), in windows.
        The demo's own clerk works the terminal through its presenter (--autoplay); the visitor's
        rating is left to whoever sits at the demo (it times out unrated otherwise)."""
        cache = {"HALLQ_CACHE_DIR": str(self.paths.root / "device-cache")}
        screens = [("terminal", window)]
        evaluator = config.evaluator_of(window)
        if evaluator is not None:
            screens.append(("evaluator", evaluator))
        for n, (app, device) in enumerate(screens):
            argv = ["hallq", app, "--id", device, "--windowed", "--size", "960x720"]
            argv += ["--at", f"{n * 970},40"]  # side by side
            if app == "terminal":
                argv.append("--autoplay")
            spec = Spec(
                f"{app}-{device}",
                self.python(*argv),
                env={**self.device_env(device), **cache},
            )
            self.started(self.supervisor.start(spec), f"the {app} of window {window} (a window)")

    # -- running
    def run(self) -> int:
        paths = self.paths
        mosquitto = find_mosquitto()
        if mosquitto is None:
            print(
                "hallq demo: Mosquitto is not installed: `make demo` installs it "
                "(tools/bootstrap.sh), or apt-get install mosquitto",
                file=sys.stderr,
            )
            return 2
        paths.root.mkdir(parents=True, exist_ok=True)
        # One demo per folder: a second one would wipe the first one's store and logs.
        self.lock = (paths.root / ".lock").open("w")
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"hallq demo: another demo runs in {paths.root}: stop it, or give another --dir",
                file=sys.stderr,
            )
            return 2
        paths.fresh()
        # python-escpos (the printer emulator, the demo kiosk) parses its capabilities once per
        # import and leaves a temp folder each time unless told where to keep them (`make` sets it).
        os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(paths.root / "escpos-cache"))
        logging.basicConfig(
            filename=paths.log("demo"),
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        try:
            wired = setup.write_configs(self.source, paths)
        except ConfigError as exc:
            print(f"hallq demo: the config cannot be used:\n{exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"hallq demo: {exc}", file=sys.stderr)
            return 2
        config = self.config = wired.config
        clerk = setup.keypad_clerk(config)
        self.keypad = KeypadPlayer(clerk, self.speed) if clerk is not None else None
        start = setup.demo_start(config, datetime.now(config.site.zone))
        spec = setup.clock_spec(start, self.speed)
        self.console = console = Console(start, self.speed)
        self.device_lines = DeviceLines(console, clerk)
        try:
            setup.make_ca(paths)
        except (OSError, RuntimeError) as exc:
            print(f"hallq demo: {exc}", file=sys.stderr)
            return 2

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.on_signal)
        counts = config.devices()
        console.say(
            f"hallq demo: {config.site.name} ({config.site.id}): {len(config.windows)} windows, "
            f"{len(config.services)} services, {len(counts['kiosks'])} kiosks"
        )
        today = start.date() == datetime.now(config.site.zone).date()
        console.say(
            f"  hall clock from {start:%a %Y-%m-%d %H:%M} ({config.site.tz}), "
            f"{self.speed:g}x real time ("
            + ("today's opening" if today else "the next working morning of its calendar")
            + ")"
        )
        console.say(f"  folder {os.path.relpath(paths.root)}")
        code = 0
        try:
            code = self._run(wired, mosquitto, spec)
        except Exception as exc:  # say it, then stop everything all the same
            log.exception("demo failed")
            console.say(f"hallq demo: {exc}")
            code = 1
        finally:
            self.shutdown()
        return code

    def _run(self, wired: setup.WiredHall, mosquitto: str, spec: str) -> int:
        assert self.console is not None
        console, paths, config = self.console, self.paths, wired.config
        files = self.start_broker(mosquitto, config)
        if self.stop_requested.is_set():
            return 0
        server = Spec(
            "hall-server",
            self.python(
                "hallq",
                "server",
                "--config",
                str(wired.path),
                "--data",
                str(paths.data),
                "--clock",
                spec,
            ),
            env=self.device_env("hall"),
            critical=True,
        )
        self.started(self.supervisor.start(server), f"hall server, clock {spec}")
        console.origin = time.monotonic()
        watch = Spec(
            "watch",
            self.python(
                "hallq.demo_watch",
                "--config",
                str(wired.path),
                "--id",
                setup.WATCH_ID,
                "--clock",
                spec,
            ),
            env=self.device_env(setup.WATCH_ID),
            on_line=self.on_watch_line,
        )
        self.started(self.supervisor.start(watch), "the hall as an operator sees it (below)")
        self.start_devices(config, wired.path)
        log.info("broker ports %d (hall) %d (tls)", files.local_port, files.tls_port)

        deadline = time.monotonic() + HALL_ONLINE_WAIT
        while not self.hall_online.is_set():
            if self.stop_requested.is_set() or self.check_children():
                return 0 if self.stop_requested.is_set() else 1
            if time.monotonic() > deadline:
                console.say(
                    f"hallq demo: the hall server is not online after {HALL_ONLINE_WAIT:g} s"
                )
                self.report_tail("hall-server")
                return 1
            self.supervisor.pump(0.1)
        self.start_flow(wired)
        console.say("Ctrl-C stops everything.")
        while not self.stop_requested.is_set():
            self.supervisor.pump(0.2)
            if self.keypad is not None:
                self.keypad.press_keys(self.supervisor.children, console)
            if self.check_children():
                return 1
        return 0

    def wait_for_path(self, path: Path, timeout: float = EMULATOR_WAIT) -> None:
        """Until an emulator made its pty link (reading the output meanwhile)."""
        deadline = time.monotonic() + timeout
        while not path.exists() and time.monotonic() < deadline:
            self.supervisor.pump(0.05)

    def check_children(self) -> bool:
        """Report children that died; True if the demo cannot go on."""
        assert self.console is not None
        fatal = False
        for child in self.supervisor.exited():
            code = child.process.returncode
            self.console.say(
                f"hallq demo: {child.name} (pid {child.pid}) ended with "
                f"{'code ' + str(code) if code >= 0 else signal.Signals(-code).name}; "
                f"the end of {os.path.relpath(child.log_path)}:"
            )
            for line in child.tail(TAIL_LINES):
                self.console.say(f"    {line}")
            if child.spec.critical:
                self.console.say("hallq demo: it cannot go on without it: stopping")
                fatal = True
        return fatal

    def report_tail(self, name: str) -> None:
        assert self.console is not None
        for child in self.supervisor.children:
            if child.name == name:
                self.console.say(f"the end of {os.path.relpath(child.log_path)}:")
                for line in child.tail(TAIL_LINES):
                    self.console.say(f"    {line}")

    def simulate_summary(self) -> list[str]:
        """The summary `hallq simulate` prints when it stops (the end of its log)."""
        path = self.paths.log("simulate")
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("summary:")]
        return lines[starts[-1] :] if starts else []

    def shutdown(self) -> None:
        """Stop everything: the flow and the devices, then the hall, then the broker."""
        console = self.console
        if not self.supervisor.children:
            return
        if console is not None:
            console.say("hallq demo: stopping everything it started ...")
        # Who uses whom: the flow and the bridges before the buses they use, the hall before the
        # watcher (which then shows it going offline), the broker last.
        names = [c.name for c in self.supervisor.children]
        bridges = {b.id for b in self.config.bridges} if self.config is not None else set()
        emulators = [n for n in names if n.endswith("-emulator")]
        order = [
            ["simulate", "demo-kiosk"],
            [n for n in names if n in bridges],
            emulators,
            ["hall-server"],
            ["watch"],
        ]
        order.append([n for n in names if not any(n in phase for phase in order)])  # the broker
        ended: list[str] = []
        for phase in order:
            for child, how in self.supervisor.stop(phase):
                ended.append(f"{child.name} {how}")
        if console is not None:
            if self.config is not None:
                console.say("hallq demo: the hall's day, as the hall server recorded it:")
                for line in report.summary(report.read_day(self.paths.data), self.config):
                    console.say(f"    {line}")
            summary = self.simulate_summary()
            if summary and self.args.details:
                console.say("hallq demo: the simulation's own figures (for developers):")
                for line in summary:
                    console.say(f"    {line.strip()}")
            console.say(f"hallq demo: stopped: {', '.join(ended)}")
            console.say(f"hallq demo: the logs are in {self.paths.logs}/")
            if summary and not self.args.details:
                console.say(
                    "hallq demo: answer times and refusals: hallq demo --details, or the end "
                    f"of {os.path.relpath(self.paths.log('simulate'))}"
                )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="hallq demo",
        description="Run the whole example hall on this machine: a private broker, the hall "
        "server on a fast clock from a working morning, simulated visitors and clerks, emulated "
        "LED boards, keypads and a ticket printer. Ctrl-C stops everything.",
    )
    parser.add_argument(
        "--config",
        default=str(setup.DEFAULT_CONFIG),
        help="the hall config (default: the prefecture example)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"how many times faster than real time the hall's clock runs (default {DEFAULT_SPEED:g})",
    )
    parser.add_argument(
        "--dir",
        default=".demo",
        help="the demo's folder: configs, credentials, store, logs (default .demo; a rerun clears "
        "its store and logs, keeps its CA and passwords)",
    )
    parser.add_argument("--seed", type=int, help="random seed of the simulated visitors")
    parser.add_argument(
        "--details",
        action="store_true",
        help="at the end, also the simulation's figures for developers (answer times, refusals)",
    )
    args = parser.parse_args(argv)
    if not args.speed > 0:
        parser.error("--speed must be above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    return Demo(args).run()


if __name__ == "__main__":
    sys.exit(main())
