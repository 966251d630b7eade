"""The delivery process's pipe: one JSON array a line on its stdout, a bare newline a wake on its stdin.

The child reports what the bridge must know of each delivery step: what it settled (left the outbox),
the forwarder's metrics and its state. Each message is a list whose first item names it."""

from __future__ import annotations

import json
import threading
from typing import IO, Any

AWAKE = "awake"  # a wake was read: the next one must be sent
SETTLED = "settled"  # [SETTLED, items that left the outbox]
FORWARDED = "forwarded"  # [FORWARDED, items, seconds of the sink call]
UP = "up"  # the downstream answered
FAILED = "failed"  # [FAILED, message, permanent, kind]: a SinkError
DEAD_LETTERED = "dead_lettered"  # one item moved to dead_letters
WAKE = b"\n"


class Relay:
    """The child's end: messages written whole, from any thread."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.lock = threading.Lock()

    def send(self, *message: Any) -> None:
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        with self.lock:
            self.out.write(line)
            self.out.flush()


def decoded(line: bytes) -> list[Any]:
    message = json.loads(line)
    if not isinstance(message, list) or not message or not isinstance(message[0], str):
        raise ValueError(f"not a delivery message: {line[:200]!r}")
    return message
