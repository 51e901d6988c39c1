"""The terminal's and the evaluator's one way to the hall: requests on one worker thread, retained
topics followed, every result handed to the UI through `dispatch` (Kivy's main loop in the apps).

Requests use the client's blocking `request()` (which resends under the same id until the answer
comes, so a lost answer never does the work twice) on ONE thread of this link, never the UI thread;
they run one at a time, in order. This is the one module to change when the client gains a
non-blocking `submit()`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from contract import topics
from contract.client import RequestError, RequestRefused
from contract.transport import Message

log = logging.getLogger(__name__)

Dispatch = Callable[[Callable[[], None]], None]
Answered = Callable[[str, bool, "Mapping[str, Any] | None", str], None]
JsonCallback = Callable[[str, "dict[str, Any] | None"], None]


class Client(Protocol):
    """What the link needs of contract.client.HallClient."""

    site: str

    @property
    def connected(self) -> bool: ...

    def request(
        self, op: str, *, request_id: str | None = None, **fields: Any
    ) -> dict[str, Any]: ...

    def subscribe(self, topic_filter: str, callback: Callable[[Message], None]) -> None: ...

    def subscribe_json(self, topic_filter: str, callback: JsonCallback) -> None: ...


class Link:
    def __init__(self, client: Client, dispatch: Dispatch) -> None:
        self.client = client
        self.dispatch = dispatch
        self.answered: Answered = lambda op, ok, result, code: None
        self._jobs: queue.Queue[tuple[str, dict[str, Any], str | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="terminal-requests", daemon=True)
        self._thread.start()

    @property
    def connected(self) -> bool:
        return self.client.connected

    def send(self, op: str, fields: dict[str, Any], request_id: str | None = None) -> None:
        """The presenter's port: queue the request (under `request_id` if given: a repeat of one
        that got no answer); its answer reaches `answered` on the UI loop."""
        self._jobs.put((op, dict(fields), request_id))

    def stop(self) -> None:
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._one(*job)

    def _one(self, op: str, fields: dict[str, Any], request_id: str | None) -> None:
        try:
            result = self.client.request(op, request_id=request_id, **fields)
        except RequestRefused as exc:
            code = exc.code
            self.dispatch(lambda: self.answered(op, False, None, code))
        except RequestError as exc:
            log.warning("%s: %s", op, exc)
            self.dispatch(lambda: self.answered(op, False, None, "timeout"))
        except Exception:  # a broken job must not stop the link
            log.exception("%s failed", op)
            self.dispatch(lambda: self.answered(op, False, None, "timeout"))
        else:
            self.dispatch(lambda: self.answered(op, True, result, ""))

    def follow(self, topic: str, on_value: Callable[[dict[str, Any] | None], None]) -> None:
        """A retained JSON topic, each value (None: cleared) handed to the UI loop."""

        def arrived(_topic: str, value: dict[str, Any] | None) -> None:
            self.dispatch(lambda: on_value(value))

        self.client.subscribe_json(topic, arrived)

    def follow_hall(self, on_online: Callable[[bool], None]) -> None:
        """The hall's retained status/hall (`online` / `offline`, its last will)."""

        def arrived(message: Message) -> None:
            online = message.payload == b"online"
            self.dispatch(lambda: on_online(online))

        self.client.subscribe(topics.status(self.client.site, topics.HALL_CLIENT_ID), arrived)
