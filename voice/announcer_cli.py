"""`hallq announcer --id ID [--config FILE] [--wav-dir DIR]`: run one announcer until a signal.

Its settings are its section of the hall config: the hall publishes them retained on its settings
topic; until that follower exists everywhere, `--config FILE` (the hall config) is the fallback
(`announcer_settings`, the one function to replace). Its broker account comes from the environment
(HALLQ_MQTT_URL, written by `hallq broker-config`) or the config's [broker].
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import ValidationError

from contract import topics
from contract.client import HallClient
from contract.mqtt_url import URL_ENV, BrokerUrlError, broker_address
from hall.config.schema import Announcer as AnnouncerSettings
from hall.config.schema import Broker, ConfigError, HallConfig, load_config
from voice.announcer import Announcer
from voice.manifest import ManifestError
from voice.output import Alsa, Nowhere, Output, WavDir, sound_device_problem
from voice.voice import make_voice

log = logging.getLogger(__name__)

DEVICE_ENV = "HALLQ_DEVICE_ID"
# Seconds to wait for the retained settings before the --config fallback: a retained message comes
# right after the broker acknowledges the subscription, so this only covers a slow link.
SETTINGS_WAIT = 1.0


class SettingsError(Exception):
    """No settings for this announcer; the message says where to add them."""


def announcer_settings(
    client: HallClient, announcer_id: str, config: HallConfig | None
) -> AnnouncerSettings:
    """This announcer's settings: its [[announcers]] section of --config when given (the demo, as
    every device's --config), else the hall's retained `device/{id}/settings`."""
    if config is not None:
        section = next((a for a in config.announcers if a.id == announcer_id), None)
        if section is None:
            known = ", ".join(a.id for a in config.announcers) or "none"
            raise SettingsError(
                f"no [[announcers]] section with id {announcer_id!r} in the config (announcers: "
                f"{known}): add one"
            )
        log.info("%s: settings from --config", announcer_id)
        return section
    got: dict[str, Any] = {}
    arrived = threading.Event()

    def on_settings(topic: str, payload: dict[str, Any] | None) -> None:
        if payload and isinstance(payload.get("settings"), dict):
            got.update(payload["settings"])
            arrived.set()

    client.subscribe_json(topics.device_settings(client.site, announcer_id), on_settings, wait=5)
    if arrived.wait(SETTINGS_WAIT):
        log.info("%s: settings from the hall", announcer_id)
        try:
            return AnnouncerSettings.model_validate(got)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise SettingsError(
                f"the hall's settings for {announcer_id!r} cannot be used ({problems}): "
                "fix its [[announcers]] section in the hall config"
            ) from None
    raise SettingsError(
        f"no settings for announcer {announcer_id!r} from the hall within {SETTINGS_WAIT:g} s, "
        "and no --config: give the hall config with --config"
    )


def choose_output(wav_dir: Path | None) -> tuple[Output, tuple[str, dict[str, Any]]]:
    """WAV files when asked; else the sound card if there is one; else nowhere, said loudly."""
    if wav_dir is not None:
        output: Output = WavDir(wav_dir)
        return output, ("ok", {"output": output.name})
    problem = sound_device_problem()
    if problem is None:
        output = Alsa()
        return output, ("ok", {"output": output.name})
    log.warning("no sound device (%s): calls are not heard; give --wav-dir to keep them", problem)
    return Nowhere(problem), ("no_sound_device", {"reason": problem})


def default_state_dir() -> Path:
    # systemd's StateDirectory= sets STATE_DIRECTORY; elsewhere the user's state folder.
    env = os.environ.get("STATE_DIRECTORY")
    if env:
        return Path(env.split(":")[0])
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "hallq"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hallq announcer",
        description="Say the hall's calls on this machine's speakers (or into WAV files).",
    )
    parser.add_argument(
        "--id",
        default=os.environ.get(DEVICE_ENV),
        help=f"this announcer's id ([[announcers]] id; default ${DEVICE_ENV}, from its env file)",
    )
    parser.add_argument("--config", help="the hall config: site, broker and fallback settings")
    parser.add_argument("--site", help="the hall's site id (when there is no --config)")
    parser.add_argument("--wav-dir", type=Path, help="write each announcement as a WAV file here")
    parser.add_argument(
        "--state-dir", type=Path, help="where the last call said is kept (default: state folder)"
    )
    parser.add_argument("--log-level", default=os.environ.get("HALLQ_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    if not args.id:
        parser.error(f"give --id ID (or set {DEVICE_ENV}, as the env file of broker-config does)")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_config(args.config) if args.config else None
        site = config.site.id if config else args.site
        if not site:
            raise SettingsError("give --config (the hall config) or --site")
        if config is not None:
            address = broker_address(config.broker)
        elif os.environ.get(URL_ENV):
            address = broker_address(Broker())
        else:
            raise SettingsError(f"no broker: set {URL_ENV} or give --config")
        topics.device_settings(site, args.id)  # refuses a malformed id or site at once
    except (ConfigError, SettingsError, BrokerUrlError, ValueError) as exc:
        print(f"hallq announcer: {exc}", file=sys.stderr)
        return 2
    client = HallClient.connect(address, site, "announcer", args.id, wait=None)
    try:
        settings = announcer_settings(client, args.id, config)
        voice = make_voice(
            settings.backend, settings.languages, Path(settings.clips) if settings.clips else None
        )
    except (SettingsError, ManifestError) as exc:
        print(f"hallq announcer: {exc}", file=sys.stderr)
        client.close()
        return 2
    output, health = choose_output(args.wav_dir)
    numbers = {w.id: w.no for w in config.windows} if config else {}
    state = (args.state_dir or default_state_dir()) / f"announcer-{args.id}.json"
    announcer = Announcer(site, settings, voice, output, client, state, numbers, health)
    client.transport.add_connect_listener(announcer.publish_health)
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    announcer.start()
    if args.wav_dir is not None:
        print(f"hallq announcer {args.id}: WAV files in {args.wav_dir.resolve()}", flush=True)
    stopped.wait()
    log.info("%s: stopping", args.id)
    announcer.stop(timeout=10)
    client.publish_health("offline", {"output": output.name})
    client.close()
    return 0
