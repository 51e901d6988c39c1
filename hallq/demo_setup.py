"""What `hallq demo` prepares before it starts anything: the folder, the hall's clock, the wired
config and the broker's files.

- The clock: the hall runs from today's opening when today is a working day of its own calendar
  that is not over yet, else from the opening of the next working day (09:00 on the example
  halls), so the demo shows a morning's calls whatever the real hour and day.
- The config: the example hall as it is, with each hardware bus moved to a pseudo-terminal in the
  demo folder (the emulators make them), plus two devices of the demo's own: an operator that
  watches the hall (`demo-watch`) and a kiosk with the emulated printer (`demo-kiosk`). The
  simulated visitors get the same config without `demo-kiosk`, so nobody else plays it.
- The broker: `hall.tools.broker_config.generate` writes passwords, ACL, one env file per device and a
  mosquitto.conf, for a loopback listener (the hall server) and a TLS listener on 127.0.0.1 (every
  device, with a CA of the demo's own from broker_config/make-ca.sh), on free ports.
"""

from __future__ import annotations

import getpass
import random
import shutil
import socket
import subprocess
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from hall.config.calendar import spans_on
from hall.config.schema import HallConfig, parse_config
from hall.tools.broker_config import ENV_DIR, Report, Settings, generate
from hallq.demo_toml import dumps

ROOT = Path(__file__).resolve().parents[1]  # the checkout: examples and scripts live there
DEFAULT_CONFIG = ROOT / "deploy" / "examples" / "prefecture-hall.toml"
MAKE_CA = ROOT / "broker_config" / "make-ca.sh"

WATCH_ID = "demo-watch"  # the operator account the demo's event printer connects with
ANNOUNCER_ID = "demo-speakers"  # the speakers of the first floor, saying calls into WAV files
KIOSK_ID = "demo-kiosk"  # the kiosk that prints on the emulated printer
TOUCH_KIOSK_ID = "demo-touch"  # the Kivy kiosk a person at the demo taps (its own printer)
OPENING_FALLBACK = time(9, 0)
LOOKAHEAD_DAYS = 366


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def data(self) -> Path:  # the hall server's store
        return self.root / "data"

    @property
    def broker(self) -> Path:  # broker-config's output: passwd, acl, env/, mosquitto.conf
        return self.root / "broker"

    @property
    def broker_data(self) -> Path:  # mosquitto's persistence
        return self.root / "broker-data"

    @property
    def tls(self) -> Path:  # the demo's own hall CA and the broker's certificate
        return self.root / "tls"

    @property
    def dev(self) -> Path:  # links to the emulators' pseudo-terminals
        return self.root / "dev"

    @property
    def tickets(self) -> Path:  # the emulated printer's PNGs
        return self.root / "tickets"

    @property
    def wav(self) -> Path:  # the announcers' WAV files (no sound device on a demo machine)
        return self.root / "wav"

    @property
    def hall_config(self) -> Path:
        return self.root / "hall.toml"

    @property
    def simulate_config(self) -> Path:
        return self.root / "simulate.toml"

    def env_file(self, account: str) -> Path:
        return self.broker / ENV_DIR / f"{account}.env"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def fresh(self) -> None:
        """Make the folder, and clear what a previous run left that must not carry over (the
        store, the broker's retained state, logs, links, tickets). The CA and the passwords stay."""
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in (self.logs, self.data, self.broker_data, self.dev, self.tickets, self.wav):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)


# --- the hall's clock --------------------------------------------------------------------------


def opening_of(config: HallConfig, day: date) -> time:
    """When the hall opens on `day`: the earliest start of its hours (the hall's own, [calendar])."""
    spans = spans_on(config.calendar, config.calendar.hours, day)
    return spans[0].start if spans else OPENING_FALLBACK


def next_working_morning(config: HallConfig, now: datetime) -> datetime:
    """The opening time of the first working day after `now`'s date (hall time), by the hall's
    calendar: holidays, weekends and make-up working days included."""
    local = now.astimezone(config.site.zone)
    for offset in range(1, LOOKAHEAD_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        if config.calendar.is_working_day(day) and spans_on(
            config.calendar, config.calendar.hours, day
        ):
            return datetime.combine(day, opening_of(config, day), tzinfo=config.site.zone)
    raise ValueError(
        f"the hall calendar has no working day with opening hours in the next {LOOKAHEAD_DAYS} days"
    )


def demo_start(config: HallConfig, now: datetime) -> datetime:
    """Where the demo's clock starts: today's opening when today is a working day of the hall's
    calendar whose hours are not over yet (so a run in the morning, or at lunch, shows today),
    else the next working morning."""
    local = now.astimezone(config.site.zone)
    today = local.date()
    if config.calendar.is_working_day(today):
        spans = spans_on(config.calendar, config.calendar.hours, today)
        if spans and local.time() < max(span.end for span in spans):
            return datetime.combine(today, opening_of(config, today), tzinfo=config.site.zone)
    return next_working_morning(config, now)


def clock_spec(start: datetime, speed: float) -> str:
    """`hallq server --clock`: the start with its offset and the speed (`...T09:00+08:00x10`)."""
    return f"{start.isoformat(timespec='minutes')}x{speed:g}"


# --- the wired config --------------------------------------------------------------------------


def wire(raw: dict[str, Any], paths: DemoPaths) -> dict[str, Any]:
    """The example config for the demo: every bus on a pty link under dev/, and the demo's own
    watcher (an operator) and printing kiosk. `raw` is the TOML as read; it is not changed."""
    data = tomllib.loads(dumps(raw))  # a deep copy
    for bridge in data.get("bridges", []):
        if isinstance(bridge.get("bus"), dict):
            bridge["bus"]["port"] = str(paths.dev / bridge["id"])
    for kiosk in data.get("kiosks", []):  # simulated visitors, at the demo's speed: no rate limit
        kiosk.pop("rate_limit_per_min", None)
    data.setdefault("operators", []).append({"id": WATCH_ID, "name": "hallq demo 事件窗"})
    if not data.get("announcers"):  # the speakers of the first window's floor, in two languages
        area = next((w.get("area", "") for w in data.get("windows", [])), "")
        data["announcers"] = [
            {"id": ANNOUNCER_ID, "name": "hallq demo 广播", "areas": [area] if area else [],
             "languages": ["zh", "en"]}
        ]  # fmt: skip
    data.setdefault("kiosks", []).append(
        {
            "id": KIOSK_ID,
            "name": "hallq demo 取号机（模拟打印机）",
            "printer": {
                "connector": "serial",
                "target": str(paths.dev / "printer"),
                "width_mm": 80,
                "mode": "mixed",
                "timeout_s": 2.0,
                "write_timeout_s": 30.0,
            },
        }
    )
    data["kiosks"].append(
        {
            "id": TOUCH_KIOSK_ID,
            "name": "hallq demo 触摸取号机",
            "allow_priority": True,
            "printer": {
                "connector": "serial",
                "target": str(paths.dev / "printer-touch"),
                "width_mm": 80,
                "mode": "mixed",
                "timeout_s": 2.0,
                "write_timeout_s": 30.0,
            },
        }
    )
    return data


def without_demo_kiosk(data: dict[str, Any]) -> dict[str, Any]:
    """The config the simulated visitors play: every kiosk but the demo's own two."""
    copy = tomllib.loads(dumps(data))
    copy["kiosks"] = [
        k for k in copy.get("kiosks", []) if k.get("id") not in (KIOSK_ID, TOUCH_KIOSK_ID)
    ]
    return copy


@dataclass(frozen=True)
class WiredHall:
    config: HallConfig  # the demo's config (hall.toml), validated
    path: Path
    simulate_path: Path


def write_configs(source: Path, paths: DemoPaths) -> WiredHall:
    """Read the example, wire it, validate it, write hall.toml and simulate.toml."""
    with source.open("rb") as handle:
        raw = tomllib.load(handle)
    data = wire(raw, paths)
    config = parse_config(data, str(paths.hall_config))
    header = (
        f"# GENERATED by `hallq demo` from {source}: the hall as it is, every bus on a pty of the\n"
        "# demo, plus its own operator (demo-watch) and printing kiosk (demo-kiosk). Do not edit.\n"
    )
    paths.hall_config.write_text(header + dumps(data), encoding="utf-8")
    paths.simulate_config.write_text(
        header.replace("Do not edit.", "Without demo-kiosk. Do not edit.")
        + dumps(without_demo_kiosk(data)),
        encoding="utf-8",
    )
    return WiredHall(config, paths.hall_config, paths.simulate_config)


# --- the broker's files ------------------------------------------------------------------------


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
PORTS_BELOW_EPHEMERAL = 12000  # how far below the kernel's ephemeral range the demo picks ports


def _quiet_range() -> tuple[int, int]:
    """Ports below the kernel's ephemeral range: no outgoing connection and no bind(0) of another
    program (tests pick their brokers' ports that way) takes one there between our check and
    mosquitto's bind."""
    try:
        low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(1024, low - PORTS_BELOW_EPHEMERAL), low - 1


def free_ports(count: int, rng: random.Random | None = None) -> list[int]:
    """`count` different loopback ports free right now, from below the ephemeral range (bound
    together for the check, so all differ)."""
    rng = rng or random.Random()
    first, last = _quiet_range()
    sockets: list[socket.socket] = []
    try:
        for candidate in rng.sample(range(first, last + 1), min(200, last - first + 1)):
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                sock.close()
                continue
            sockets.append(sock)
            if len(sockets) == count:
                return [int(s.getsockname()[1]) for s in sockets]
        raise OSError(f"no {count} free loopback ports between {first} and {last}")
    finally:
        for sock in sockets:
            sock.close()


def make_ca(paths: DemoPaths) -> str:
    """The demo's hall CA and the broker's certificate for 127.0.0.1 (kept across runs)."""
    if not MAKE_CA.is_file():
        raise FileNotFoundError(
            f"{MAKE_CA} is missing: the demo runs from a hallq checkout (make demo)"
        )
    if shutil.which("openssl") is None:
        raise FileNotFoundError("openssl is missing: install the Debian package 'openssl'")
    result = subprocess.run(
        ["bash", str(MAKE_CA), str(paths.tls), "localhost"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"make-ca.sh failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


@dataclass(frozen=True)
class BrokerFiles:
    settings: Settings
    report: Report
    conf: Path  # what the demo's mosquitto runs: broker-config's

    @property
    def local_port(self) -> int:
        return self.settings.local_port

    @property
    def tls_port(self) -> int:
        return self.settings.tls_port


def broker_files(config: HallConfig, paths: DemoPaths) -> BrokerFiles:
    """broker-config for this run: new free ports, the demo's CA, its persistence folder."""
    local_port, tls_port = free_ports(2)
    settings = Settings(
        out=paths.broker.resolve(),
        host="127.0.0.1",  # in the certificate's names (make-ca.sh always adds it)
        local_port=local_port,
        tls_port=tls_port,
        tls_bind="127.0.0.1",  # a demo is nobody's LAN service
        tls_dir=paths.tls.resolve(),
        device_ca=str((paths.tls / "ca.crt").resolve()),
        persistence=paths.broker_data.resolve(),
        # Started as root, mosquitto drops to this user: stay who we are, so it can read the files.
        broker_user=getpass.getuser(),
    )
    report = generate(config, settings)
    return BrokerFiles(settings, report, settings.out / "mosquitto.conf")


# --- the clerk at a caller keypad ----------------------------------------------------------------


@dataclass(frozen=True)
class KeypadClerk:
    """A window the demo works itself, with keys on an emulated caller keypad: the keypad bridge
    turns them into the window's requests. The simulated clerks play every other window."""

    bridge: str
    address: int  # the keypad's address on its bus
    window: str
    clerk: str
    code: str  # the clerk's keypad code: `code` + confirm logs in


def keypad_clerk(config: HallConfig) -> KeypadClerk | None:
    """The last window of the config, if a keypad bridge has a keypad for it and its roster's first
    clerk has a keypad code (`hallq simulate --windows N` plays the first N windows, so the last
    one is left to the keypad)."""
    if len(config.windows) < 2:
        return None
    window = config.windows[-1]
    clerk = config.clerk(window.clerks[0])
    if clerk is None or not clerk.keypad_code:
        return None
    for bridge in config.bridges:
        if bridge.kind != "keypad" or bridge.bus is None or window.id not in bridge.windows:
            continue
        for keypad in bridge.bus.keypads:
            if keypad.window == window.id:
                return KeypadClerk(
                    bridge.id, keypad.address, window.id, clerk.id, clerk.keypad_code
                )
    return None
