"""A kiosk's pending requests on disk, so a kiosk restarted mid-request resumes them.

One JSON file per pending request, `{id}.json`, written atomically (a temporary file, fsync, rename,
fsync of the folder) BEFORE the request is first published, and removed when the hall's answer has
arrived. A kiosk that is killed between its tap and the answer finds the file at its next start and
sends the request again under the same id: the hall answers a repeat with its stored answer, so the
ticket issued for that tap reaches the kiosk and no second ticket is issued.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_AGE = 24 * 3600.0  # seconds: older entries are dropped (the hall keeps answers 7 days)
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Entry:
    request_id: str
    op: str
    target: tuple[str, str]  # (device class, device id) whose req topic carries it
    payload: bytes  # the exact bytes published, so every copy is the same request
    written: float  # unix time the entry was made


class Journal:
    """The folder of pending requests (made if missing)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, request_id: str) -> Path:
        if not _SAFE_ID.match(request_id) or request_id.startswith("."):
            raise ValueError(
                f"request id {request_id!r} cannot name a journal file: use letters, digits, - _ ."
            )
        return self.folder / f"{request_id}.json"

    def write(self, entry: Entry) -> None:
        """Keep `entry` on disk, durably, before its first publish."""
        body = {
            "v": 1,
            "id": entry.request_id,
            "op": entry.op,
            "target": list(entry.target),
            "payload": entry.payload.decode("utf-8"),
            "written": entry.written,
        }
        path = self._path(entry.request_id)
        temporary = path.with_name(f".{path.name}.tmp")
        with open(temporary, "wb") as out:
            out.write(json.dumps(body, ensure_ascii=False).encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        self._sync_folder()

    def remove(self, request_id: str) -> None:
        try:
            self._path(request_id).unlink(missing_ok=True)
        except ValueError:
            return

    def entries(self, now: float | None = None) -> list[Entry]:
        """Every pending request, oldest first; unreadable files and entries older than MAX_AGE
        are set aside (renamed `.bad` / removed) with a log line, never resent."""
        now = time.time() if now is None else now
        found: list[Entry] = []
        for path in sorted(self.folder.glob("*.json")):
            entry = self._read(path)
            if entry is None:
                log.error("journal: %s is not a journal entry; kept as %s.bad", path, path.name)
                path.replace(path.with_suffix(".bad"))
            elif now - entry.written > MAX_AGE:
                log.warning(
                    "journal: dropped %s %s, pending since %.0f",
                    entry.op,
                    entry.request_id,
                    entry.written,
                )
                path.unlink(missing_ok=True)
            else:
                found.append(entry)
        return sorted(found, key=lambda e: e.written)

    def _read(self, path: Path) -> Entry | None:
        try:
            body: Any = json.loads(path.read_bytes())
            target = body["target"]
            return Entry(
                str(body["id"]),
                str(body["op"]),
                (str(target[0]), str(target[1])),
                str(body["payload"]).encode("utf-8"),
                float(body["written"]),
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def _sync_folder(self) -> None:
        try:
            fd = os.open(self.folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
