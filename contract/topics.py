"""Every MQTT topic name of the contract (docs/protocol.md "Topics"), built in this one module."""

from __future__ import annotations

import re

ROOT = "hallq"
REQUEST_CLASSES = ("kiosk", "window", "evaluator", "operator")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
HALL_CLIENT_ID = "hall"
HALL_CHECK_USER = "hall-check"  # read-only account: who serves the site, before taking over


def _check(part: str, what: str) -> str:
    if not ID_RE.match(part):
        raise ValueError(f"invalid {what} {part!r}: must match [a-z0-9][a-z0-9-]{{0,31}}")
    return part


def root(site: str) -> str:
    return f"{ROOT}/{_check(site, 'site id')}"


def request(site: str, device_class: str, device_id: str) -> str:
    if device_class not in REQUEST_CLASSES:
        raise ValueError(f"no request topic for device class {device_class!r}")
    return f"{root(site)}/{device_class}/{_check(device_id, 'device id')}/req"


def response(site: str, device_class: str, device_id: str) -> str:
    if device_class not in REQUEST_CLASSES:
        raise ValueError(f"no response topic for device class {device_class!r}")
    return f"{root(site)}/{device_class}/{_check(device_id, 'device id')}/resp"


def kiosk_req(site: str, kiosk: str) -> str:
    return request(site, "kiosk", kiosk)


def window_req(site: str, window: str) -> str:
    return request(site, "window", window)


def evaluator_req(site: str, evaluator: str) -> str:
    return request(site, "evaluator", evaluator)


def operator_req(site: str, operator: str) -> str:
    return request(site, "operator", operator)


def window_state(site: str, window: str) -> str:
    return f"{root(site)}/window/{_check(window, 'window id')}/state"


def window_rating(site: str, window: str) -> str:
    return f"{root(site)}/window/{_check(window, 'window id')}/rating"


def calls(site: str) -> str:
    return f"{root(site)}/calls"


def board(site: str) -> str:
    return f"{root(site)}/board"


def catalog(site: str) -> str:
    return f"{root(site)}/catalog"


def queues(site: str) -> str:
    return f"{root(site)}/queues"


def alarm(site: str) -> str:
    return f"{root(site)}/alarm"


def clock(site: str) -> str:
    """Extension (docs/protocol.md): the hall's clock, retained, so devices can follow a scaled one."""
    return f"{root(site)}/clock"


def owner(site: str) -> str:
    """Extension: which hall server serves the site (host, data folder, pid, since), retained; the
    hall writes it, and a starting hall server reads it through the `hall-check` account."""
    return f"{root(site)}/owner"


def status(site: str, client: str) -> str:
    return f"{root(site)}/status/{_check(client, 'client id')}"


def device_health(site: str, device: str) -> str:
    return f"{root(site)}/device/{_check(device, 'device id')}/health"


def device_settings(site: str, device: str) -> str:
    """Extension: the device's own section of the hall config, retained; only that device reads it."""
    return f"{root(site)}/device/{_check(device, 'device id')}/settings"


def stats(site: str) -> str:
    """Extension: the day's figures per window, clerk and service, retained."""
    return f"{root(site)}/stats"


def alarms(site: str) -> str:
    """Extension: the open alarms, retained (a list of `alarm` payloads)."""
    return f"{root(site)}/alarms"


def cases(site: str) -> str:
    """Extension: the open cases (受理件) with their state against the time limit, retained."""
    return f"{root(site)}/cases"


# Subscriptions (MQTT filters).
def all_requests(site: str) -> str:
    return f"{root(site)}/+/+/req"


def all_responses(site: str, device_class: str) -> str:
    if device_class not in REQUEST_CLASSES:
        raise ValueError(f"no response topics for device class {device_class!r}")
    return f"{root(site)}/{device_class}/+/resp"


def all_window_states(site: str) -> str:
    return f"{root(site)}/window/+/state"


def all_window_ratings(site: str) -> str:
    return f"{root(site)}/window/+/rating"


def all_status(site: str) -> str:
    return f"{root(site)}/status/+"


def all_health(site: str) -> str:
    return f"{root(site)}/device/+/health"


def all_device_settings(site: str) -> str:
    """Every device's settings topic: the hall writes them (and clears those of removed devices)."""
    return f"{root(site)}/device/+/settings"


def parse_device_settings(site: str, topic: str) -> str | None:
    """The device id of a `device/{id}/settings` topic of this site, or None if it is not one."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[:3] == [ROOT, site, "device"] and parts[4] == "settings":
        return parts[3] if ID_RE.match(parts[3]) else None
    return None


def parse_request(site: str, topic: str) -> tuple[str, str] | None:
    """(device class, device id) of a request topic of this site, or None if it is not one."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != ROOT or parts[1] != site or parts[4] != "req":
        return None
    device_class, device_id = parts[2], parts[3]
    if device_class not in REQUEST_CLASSES or not ID_RE.match(device_id):
        return None
    return device_class, device_id


def parse_window(site: str, topic: str) -> str | None:
    """The window id of a `window/{id}/state` or `window/{id}/rating` topic of this site."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == ROOT and parts[1] == site and parts[2] == "window":
        return parts[3]
    return None


def is_retained(site: str, topic: str) -> bool:
    """Whether `topic` of this site is retained state (docs/protocol.md "What the hall publishes"):
    the device client keeps its latest value for every later subscriber."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != ROOT or parts[1] != site:
        return False
    rest = parts[2:]
    if len(rest) == 1:
        return rest[0] in ("board", "catalog", "queues", "clock", "stats", "alarms", "cases")
    if len(rest) == 2:
        return rest[0] == "status"
    if len(rest) == 3:
        return (rest[0], rest[2]) in {
            ("window", "state"),
            ("window", "rating"),
            ("device", "health"),
            ("device", "settings"),
        }
    return False
