"""The delivery process's pipes: one JSON array a line each way on its stdin and stdout; a wake is a byte
on a pipe of its own (`pipes.py`).

The child reports what the bridge must know of each delivery step: what it settled (left the outbox),
the forwarder's metrics and its state. The bridge also calls it (Pushgateway's requests,
`delivery/pushgateway.py`): [CALL, id, method, args], answered by [ANSWER, id, result] or
[ERROR, id, *the SinkError]. Each message is a list whose first item names it."""

from __future__ import annotations

import json
import threading
from typing import IO, Any

from pushgateway_bridge.sinks.base import SinkError

AWAKE = "awake"  # a wake was read: the next one must be sent
SETTLED = "settled"  # [SETTLED, items that left the outbox]
FORWARDED = "forwarded"  # [FORWARDED, items, seconds of the sink call]
UP = "up"  # the downstream answered
FAILED = "failed"  # [FAILED, *error_fields(SinkError)]
DEAD_LETTERED = "dead_lettered"  # an item moved to dead_letters: the deliveries it held
CALL = "call"  # from the bridge: [CALL, id, method, [args]]
ANSWER = "answer"  # [ANSWER, id, result]
ERROR = "error"  # [ERROR, id, *error_fields(SinkError)]
WAKE = b"w"


def error_fields(error: SinkError) -> list[Any]:
    return [error.message, error.permanent, error.kind]


def sink_error(fields: list[Any]) -> SinkError:
    message, permanent, kind = fields
    return SinkError(str(message), permanent=bool(permanent), kind=str(kind))


def line(*message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


class Relay:
    """The child's end: messages written whole, from any thread."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.lock = threading.Lock()

    def send(self, *message: Any) -> None:
        data = line(*message)
        with self.lock:
            self.out.write(data)
            self.out.flush()


def decoded(line: bytes) -> list[Any]:
    message = json.loads(line)
    if not isinstance(message, list) or not message or not isinstance(message[0], str):
        raise ValueError(f"not a delivery message: {line[:200]!r}")
    return message
