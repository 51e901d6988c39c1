"""`hallq broker-config --config FILE --out DIR`: the broker's users, passwords and ACLs from a hall config.

It writes into DIR:
- `secrets.json` (mode 0600): each account's password, in the clear. Later runs reuse it, so adding
  a kiosk changes no other device's password; a device dropped from the config loses its password
  (added again, it gets a new one); `--rotate ID` gives one account a new password.
- `passwd`: the same passwords hashed in Mosquitto's `$7$` format (PBKDF2-SHA512), which the
  installed Mosquitto 2.0 reads; an existing hash is kept while it still matches, so a run that
  changes nothing rewrites nothing.
- `acl`: per account exactly what docs/protocol.md "Conventions" grants its class (see `grants_for`).
- `env/{id}.env` (mode 0600): `HALLQ_MQTT_URL` with the account's user name and password,
  `HALLQ_MQTT_CA`, `HALLQ_SITE`, `HALLQ_DEVICE_ID` and `HALLQ_DEVICE_CLASS` (contract/device_env.py):
  all a device machine needs besides the hall CA certificate; the file a systemd unit names as its
  `EnvironmentFile`; `env/hall.env` is the hall
  server's (loopback, no TLS).
- `mosquitto.conf`: the broker for these files (no anonymous access, loopback listener, TLS listener).

It prints what changed. Mosquitto rereads `passwd` and `acl` on SIGHUP (`systemctl reload`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from contract import topics
from contract.device_env import DEVICE_CLASS_ENV, DEVICE_ID_ENV, SITE_ENV
from contract.mqtt_url import CA_ENV, URL_ENV
from hall.config.schema import ConfigError, HallConfig, load_config

log = logging.getLogger(__name__)

HALL_USER = topics.HALL_CLIENT_ID  # the reserved id: the hall server's own account
# Read-only: a starting hall server reads who serves the site without taking the hall's session.
CHECK_USER = topics.HALL_CHECK_USER
SECRETS_FILE = "secrets.json"
PASSWD_FILE = "passwd"
ACL_FILE = "acl"
CONF_FILE = "mosquitto.conf"
ENV_DIR = "env"

# Mosquitto 2.0's `$7$` password hash: PBKDF2-SHA512 over a 12-byte salt, both base64 encoded.
# The passwords are 32 random characters, so the iteration count protects little; mosquitto_passwd
# uses 101, and every connect pays for it.
HASH_ITERATIONS = 1000
SALT_BYTES = 12
PASSWORD_BYTES = 24  # token_urlsafe: 32 characters of [A-Za-z0-9_-], safe in a URL unescaped

PACKET_LIMIT = 1024 * 1024  # bytes: a client sending a bigger MQTT packet is disconnected

Access = Literal["read", "write"]


@dataclass(frozen=True)
class Grant:
    access: Access
    topic: str  # a topic or an MQTT filter

    def line(self) -> str:
        return f"topic {self.access} {self.topic}"


@dataclass(frozen=True)
class Account:
    user: str
    device_class: str  # "hall" or a device class of the config
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class Settings:
    """Where things are, as the broker and the devices will see them."""

    out: Path
    host: str  # how devices on the LAN reach the broker (a name in the server certificate)
    local_port: int = 1883  # loopback, plain: the hall server
    tls_port: int = 8883  # the LAN, TLS only
    tls_bind: str = ""  # the TLS listener's address; empty: every interface
    tls_dir: Path | None = None  # ca.crt, server.crt, server.key (make-ca.sh); default out/tls
    device_ca: str = "/etc/hallq/ca.crt"  # where the hall CA certificate is on each device
    persistence: Path = Path("/var/lib/hallq-broker")
    broker_user: str = "mosquitto"  # the user mosquitto drops to when started as root

    @property
    def tls_folder(self) -> Path:
        return self.tls_dir if self.tls_dir is not None else self.out / "tls"


# --- who may do what ---------------------------------------------------------------------------


def _device_basics(site: str, device: str) -> list[Grant]:
    # Every device: its own presence (its last will) and health; the hall's presence, the catalog
    # it draws its menus and names from, the alarms, and the hall's clock (an extension); its own
    # settings and no other device's (extension: docs/protocol.md "Device settings").
    return [
        Grant("read", topics.device_settings(site, device)),
        Grant("write", topics.status(site, device)),
        Grant("write", topics.device_health(site, device)),
        Grant("read", topics.status(site, HALL_USER)),
        Grant("read", topics.catalog(site)),
        Grant("read", topics.alarm(site)),
        Grant("read", topics.clock(site)),
    ]


def _requester(site: str, device_class: str, device: str) -> list[Grant]:
    return [
        Grant("write", topics.request(site, device_class, device)),
        Grant("read", topics.response(site, device_class, device)),
    ]


def hall_grants(site: str) -> list[Grant]:
    """The hall server: reads everything of its site, and is the only writer of hall state."""
    writes = [topics.all_responses(site, c) for c in topics.REQUEST_CLASSES] + [
        topics.all_window_states(site),
        topics.all_window_ratings(site),
        topics.calls(site),
        topics.board(site),
        topics.catalog(site),
        topics.queues(site),
        topics.alarm(site),
        topics.alarms(site),  # extension: the open alarms (retained)
        topics.clock(site),
        topics.all_device_settings(site),
        topics.stats(site),
        topics.cases(site),  # extension: the open cases and their time limits (retained)
        topics.status(site, HALL_USER),
        topics.owner(site),
    ]
    return [Grant("read", f"{topics.root(site)}/#"), *(Grant("write", t) for t in writes)]


def check_grants(site: str) -> list[Grant]:
    """`hall-check`: the owner record and the hall's presence, nothing else."""
    return [Grant("read", topics.owner(site)), Grant("read", topics.status(site, HALL_USER))]


def grants_for(config: HallConfig, device: str) -> list[Grant]:
    """What the contract grants this device of the config (docs/protocol.md "Conventions")."""
    site = config.site.id
    device_class = config.device_class(device)
    grants = _device_basics(site, device)
    if device_class == "kiosk":
        grants += _requester(site, "kiosk", device)
        grants += [Grant("read", topics.queues(site))]
    elif device_class == "window":  # a window terminal: its device id is its window's id
        grants += _requester(site, "window", device)
        grants += [
            Grant("read", topics.all_window_states(site)),  # where a ticket can be transferred
            Grant("read", topics.window_rating(site, device)),
            Grant("read", topics.queues(site)),
            Grant("read", topics.board(site)),
            Grant("read", topics.calls(site)),
            Grant("read", topics.stats(site)),  # extension: the day's figures
            Grant("read", topics.cases(site)),  # extension: the open cases it may close
        ]
    elif device_class == "evaluator":
        evaluator = config.evaluator(device)
        assert evaluator is not None
        grants += _requester(site, "evaluator", device)
        grants += [
            Grant("read", topics.window_state(site, evaluator.window)),
            Grant("read", topics.window_rating(site, evaluator.window)),
        ]
    elif device_class == "display":  # reads only
        grants += [
            Grant("read", topics.board(site)),
            Grant("read", topics.calls(site)),
            Grant("read", topics.queues(site)),
            Grant("read", topics.all_window_states(site)),
            Grant("read", topics.stats(site)),  # extension: the sunshine page
            Grant("read", topics.device_settings(site, device)),  # its layout, from the hall
        ]
    elif device_class == "bridge":  # acts for the windows its config names, and no other
        bridge = next(b for b in config.bridges if b.id == device)
        for window in bridge.windows:
            grants += _requester(site, "window", window)
            grants += [Grant("read", topics.window_state(site, window))]
        grants += [Grant("read", topics.calls(site))]
    elif device_class == "operator":  # the monitoring room sees the whole hall and its devices
        grants += _requester(site, "operator", device)
        grants += [
            Grant("read", topics.queues(site)),
            Grant("read", topics.board(site)),
            Grant("read", topics.calls(site)),
            Grant("read", topics.all_window_states(site)),
            Grant("read", topics.all_window_ratings(site)),
            Grant("read", topics.all_status(site)),
            Grant("read", topics.all_health(site)),
            Grant("read", topics.stats(site)),  # extension: the day's figures
            Grant("read", topics.alarms(site)),  # extension: the open alarms (hallq monitor)
            Grant("read", topics.cases(site)),  # extension: the open cases (time limits)
        ]
    elif (
        device_class == "announcer"
    ):  # reads only: the calls it speaks, the board it catches up from
        grants += [
            Grant("read", topics.calls(site)),
            Grant("read", topics.board(site)),
            Grant("read", topics.device_settings(site, device)),
        ]
    else:
        raise ValueError(f"{device!r} is no device of the config")
    return list(dict.fromkeys(grants))  # in order, without repeats


def accounts(config: HallConfig) -> list[Account]:
    """The hall server's account first, then every device's, in config order."""
    found = [
        Account(HALL_USER, "hall", tuple(hall_grants(config.site.id))),
        Account(CHECK_USER, "hall-check", tuple(check_grants(config.site.id))),
    ]
    for plural, ids in config.devices().items():
        for device in ids:
            found.append(Account(device, plural[:-1], tuple(grants_for(config, device))))
    return found


# --- file contents ------------------------------------------------------------------------------


def acl_text(site: str, found: Iterable[Account]) -> str:
    lines = [
        f"# Mosquitto ACL of the hallq hall {site!r}: GENERATED by `hallq broker-config`.",
        "# Re-run it after changing the hall config rather than editing this file.",
        "# No topic line comes before the first `user`: anonymous clients get nothing.",
    ]
    for account in found:
        lines += ["", f"# {account.device_class}", f"user {account.user}"]
        lines += [g.line() for g in account.grants]
    return "\n".join(lines) + "\n"


def parse_acl(text: str) -> dict[str, list[str]]:
    """user -> its topic lines, from an ACL file this module wrote."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("user "):
            current = blocks.setdefault(line[5:].strip(), [])
        elif line.startswith("topic ") and current is not None:
            current.append(line)
    return blocks


def hash_password(password: str, salt: bytes | None = None) -> str:
    """Mosquitto's `$7$` hash: `$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>`."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, HASH_ITERATIONS)
    return f"$7${HASH_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_matches(password: str, hashed: str) -> bool:
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        digest = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    if not 1 <= iterations <= 1_000_000:
        return False
    candidate = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(candidate, digest)


def parse_passwd(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            user, hashed = line.split(":", 1)
            found[user] = hashed.strip()
    return found


def passwd_text(passwords: dict[str, str], previous: dict[str, str]) -> str:
    lines = []
    for user, password in passwords.items():
        old = previous.get(user)
        hashed = old if old and password_matches(password, old) else hash_password(password)
        lines.append(f"{user}:{hashed}")
    return "\n".join(lines) + "\n"


def env_text(
    site: str, account: Account, password: str, settings: Settings, check_password: str = ""
) -> str:
    head = [
        f"# hallq MQTT credentials of {account.device_class} {account.user!r} (hall {site!r}),",
        "# GENERATED by `hallq broker-config`. Secret: keep it mode 0600. A systemd unit names it as",
        "# EnvironmentFile=; every hallq program reads these variables.",
    ]
    if account.user in (HALL_USER, CHECK_USER):
        # The hall server runs next to the broker: loopback, no TLS, so no CA (mqtt_url refuses one).
        body = [f"{URL_ENV}=mqtt://{account.user}:{password}@127.0.0.1:{settings.local_port}"]
        if account.user == HALL_USER and check_password:
            # Read before connecting as `hall`: is another hall server serving this site?
            body.append(
                f"HALLQ_CHECK_URL=mqtt://{CHECK_USER}:{check_password}@127.0.0.1:"
                f"{settings.local_port}"
            )
    else:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        body = [
            f"{URL_ENV}=mqtts://{account.user}:{password}@{host}:{settings.tls_port}",
            f"{CA_ENV}={settings.device_ca}",
            f"{SITE_ENV}={site}",
            f"{DEVICE_ID_ENV}={account.user}",
            f"{DEVICE_CLASS_ENV}={account.device_class}",
        ]
    return "\n".join(head + body) + "\n"


def conf_text(settings: Settings) -> str:
    """mosquitto.conf for the files in `settings.out` (broker_config/mosquitto.conf is one)."""
    out, tls = settings.out, settings.tls_folder
    bind = f" {settings.tls_bind}" if settings.tls_bind else ""
    return f"""\
# Mosquitto for a hallq hall: GENERATED by `hallq broker-config`; re-run it rather than editing.
# Production settings: nobody connects without a password, each account sees only what its ACL
# grants, the hall's LAN speaks only TLS.

per_listener_settings false
allow_anonymous false
password_file {out}/{PASSWD_FILE}
acl_file {out}/{ACL_FILE}

# Requests and answers are small and must not wait for Nagle's algorithm (88 ms -> 0.7 ms).
set_tcp_nodelay true

# Retained state and queued QoS 1 messages survive a broker restart.
persistence true
persistence_location {settings.persistence}/
autosave_interval 60

# 1 MB: a client sending a bigger packet is disconnected (Mosquitto 2.0 recommends this over
# message_size_limit); the largest payloads, the board of a busy hall and `cases` (capped at 1000
# listed, below ~400 KB: hall/engine/handlers/cases.py LISTED_MAX), are far below it.
max_packet_size {PACKET_LIMIT}
# Per client: QoS 1 messages in flight, then queued (a display that reconnects gets ~110 retained
# topics at once), then dropped rather than growing without bound.
max_inflight_messages 100
max_queued_messages 5000

user {settings.broker_user}
# To stdout: under systemd that is the journal.
log_dest stdout
log_type error
log_type warning
log_type notice
connection_messages true

# Listener options follow their `listener` line: written before the first one, Mosquitto 2.0
# applies them to a default listener that it then opens on 1883 on every interface.
# use_username_as_clientid: the client id is the user name, so no device can take over another's
# session (the hall's included) by connecting with its client id.

# The hall server, on this machine only.
listener {settings.local_port} 127.0.0.1
use_username_as_clientid true

# The hall's LAN: TLS only, with the hall CA's server certificate (broker_config/make-ca.sh).
listener {settings.tls_port}{bind}
use_username_as_clientid true
cafile {tls}/ca.crt
certfile {tls}/server.crt
keyfile {tls}/server.key
tls_version tlsv1.2
require_certificate false
"""


PRODUCTION = Settings(
    out=Path("/etc/hallq/broker"),
    host="hall-server",
    tls_dir=Path("/etc/hallq/broker/tls"),
)


# --- writing, and saying what changed -----------------------------------------------------------


def _write(path: Path, text: str, mode: int) -> bool:
    """Write atomically with `mode` from the first byte; True if the content changed."""
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old == text:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
        return False
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)  # the umask may have taken bits off
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return True


def _load_secrets(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        # Never silently start over: every device would need new credentials.
        raise ValueError(
            f"{path} is not valid JSON ({exc}): restore it from a backup, or delete it to give "
            "every account a new password"
        ) from None
    passwords = data.get("passwords", {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in passwords.items() if isinstance(v, str) and v}


@dataclass
class Report:
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reload_broker: bool = False
    restart_broker: bool = False

    def lines(self) -> list[str]:
        out = list(self.changes) or ["nothing changed"]
        out += [f"warning: {w}" for w in self.warnings]
        if self.restart_broker:
            out.append("restart the broker to apply: systemctl restart hallq-broker")
        elif self.reload_broker:
            out.append("reload the broker to apply: systemctl reload hallq-broker")
        return out


def _acl_diff(old: list[str], new: list[str]) -> str:
    added = [line[6:] for line in new if line not in old]
    removed = [line[6:] for line in old if line not in new]
    parts = [f"+ {a}" for a in added] + [f"- {r}" for r in removed]
    return "; ".join(parts) if parts else "order only"


def generate(config: HallConfig, settings: Settings, rotate: Iterable[str] = ()) -> Report:
    """Write every file into settings.out; say what changed since the last run."""
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    (out / ENV_DIR).mkdir(exist_ok=True)
    os.chmod(out / ENV_DIR, 0o700)
    report = Report()
    found = accounts(config)
    users = [a.user for a in found]
    rotate = set(rotate)
    unknown = rotate - set(users)
    if unknown:
        raise ValueError(f"--rotate: no account {', '.join(sorted(unknown))} in the config")

    old_passwords = _load_secrets(out / SECRETS_FILE)
    first_run = not old_passwords
    passwords: dict[str, str] = {}
    for account in found:
        kept = old_passwords.get(account.user)
        if kept and account.user not in rotate:
            passwords[account.user] = kept
            continue
        passwords[account.user] = secrets.token_urlsafe(PASSWORD_BYTES)
        if not first_run:
            what = "new password (rotated)" if kept else "added with a new password"
            report.changes.append(f"{account.device_class} {account.user}: {what}")
    if first_run:
        report.changes.append(
            f"new: {len(found)} accounts ({HALL_USER}, {CHECK_USER} + {len(found) - 2} devices) "
            "with new passwords"
        )
    removed = [u for u in old_passwords if u not in passwords]
    for user in removed:
        report.changes.append(
            f"{user}: removed from the config: password, ACL and env file deleted"
        )

    old_acl = parse_acl(_read(out / ACL_FILE))
    for account in found:
        lines = [g.line() for g in account.grants]
        if account.user in old_acl and old_acl[account.user] != lines:
            report.changes.append(
                f"{account.device_class} {account.user}: ACL changed: "
                + _acl_diff(old_acl[account.user], lines)
            )

    secrets_text = json.dumps(
        {"site": config.site.id, "passwords": passwords}, indent=2, ensure_ascii=False
    )
    _write(out / SECRETS_FILE, secrets_text + "\n", 0o600)
    previous_hashes = parse_passwd(_read(out / PASSWD_FILE))
    if _write(out / PASSWD_FILE, passwd_text(passwords, previous_hashes), 0o640):
        report.reload_broker = True
    if _write(out / ACL_FILE, acl_text(config.site.id, found), 0o644):
        report.reload_broker = True
    updated = []
    for account in found:
        path = out / ENV_DIR / f"{account.user}.env"
        existed = path.exists()
        text = env_text(
            config.site.id, account, passwords[account.user], settings, passwords[CHECK_USER]
        )
        if _write(path, text, 0o600) and existed:
            updated.append(path.name)
    if updated:
        shown = ", ".join(updated[:6]) + (
            f" and {len(updated) - 6} more" if len(updated) > 6 else ""
        )
        report.changes.append(f"{ENV_DIR}/: {len(updated)} env file(s) updated: {shown}")
    for user in removed:
        (out / ENV_DIR / f"{user}.env").unlink(missing_ok=True)
    conf_existed = (out / CONF_FILE).exists()
    if _write(out / CONF_FILE, conf_text(settings), 0o644):
        report.changes.append(f"{CONF_FILE}: {'updated' if conf_existed else 'written'}")
        report.restart_broker = conf_existed
    if not all((settings.tls_folder / n).exists() for n in ("ca.crt", "server.crt", "server.key")):
        report.warnings.append(
            f"no certificates in {settings.tls_folder}: make them with "
            f"broker_config/make-ca.sh {settings.tls_folder} {settings.host}"
        )
    log.info(
        "broker config for hall %s in %s: %d accounts, %d change(s)",
        config.site.id,
        out,
        len(found),
        len(report.changes),
    )
    return report


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hallq broker-config",
        description="Write Mosquitto passwords, ACLs, a mosquitto.conf and one credentials file "
        "per device from a hall config. Run it again after the config changes.",
    )
    parser.add_argument("--config", required=True, help="the hall config (TOML)")
    parser.add_argument("--out", required=True, type=Path, help="the folder to write (and reuse)")
    parser.add_argument(
        "--host",
        default=socket.gethostname(),
        help="how devices reach the broker: a name in its server certificate (default: this host)",
    )
    parser.add_argument("--port", type=int, default=1883, help="loopback listener (hall server)")
    parser.add_argument("--tls-port", type=int, default=8883, help="TLS listener for the LAN")
    parser.add_argument("--tls-bind", default="", help="address of the TLS listener (default all)")
    parser.add_argument(
        "--tls-dir", type=Path, help="ca.crt, server.crt, server.key (default OUT/tls)"
    )
    parser.add_argument(
        "--device-ca",
        default=PRODUCTION.device_ca,
        help="path of the hall CA certificate on the devices (HALLQ_MQTT_CA)",
    )
    parser.add_argument(
        "--persistence", type=Path, default=PRODUCTION.persistence, help="broker data folder"
    )
    parser.add_argument(
        "--broker-user", default="mosquitto", help="user the broker drops to when run as root"
    )
    parser.add_argument(
        "--rotate", action="append", default=[], metavar="ID", help="new password for ID"
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    settings = Settings(
        out=args.out.resolve(),
        host=args.host,
        local_port=args.port,
        tls_port=args.tls_port,
        tls_bind=args.tls_bind,
        tls_dir=args.tls_dir.resolve() if args.tls_dir else None,
        device_ca=args.device_ca,
        persistence=args.persistence.resolve(),
        broker_user=args.broker_user,
    )
    try:
        report = generate(config, settings, rotate=args.rotate)
    except ValueError as exc:
        print(f"hallq broker-config: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 0
