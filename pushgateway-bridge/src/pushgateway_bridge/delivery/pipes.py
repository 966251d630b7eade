"""The bridge's ends of the pipes to the delivery process: its wakes, and its stdin (setup and calls).

Two pipes, because the event loop wakes the child and must never wait: a call can be a megabyte of
Pushgateway pushes that the child reads while busy, and a wake behind it held the loop for as long
(p99 670 ms under the batch bench). A wake is a byte on a pipe of its own, written without blocking."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import IO, Any

from pushgateway_bridge.delivery import messages
from pushgateway_bridge.sinks.base import SinkError


class ChildWake(threading.Event):
    """`Worker.wake` for the worker in the child: set() writes one wake until the child says it read it."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.fd: int | None = None
        self.sent = False  # a wake the child has not read yet

    def attach(self, fd: int | None) -> None:
        """The write end of a new child's wake pipe (None: no child); the one before is closed."""
        with self.lock:
            old, self.fd, self.sent = self.fd, fd, False
        if old is not None:
            with contextlib.suppress(OSError):
                os.close(old)

    def read(self) -> None:
        self.sent = False

    def is_set(self) -> bool:
        return self.sent

    def set(self) -> None:
        with self.lock:
            if self.sent or self.fd is None:
                return
            self.sent = True
            with contextlib.suppress(OSError):  # full of wakes already (non-blocking), or the child is gone
                os.write(self.fd, messages.WAKE)

    def close(self) -> None:
        self.attach(None)


class ChildInput:
    """The child's stdin: whole lines, one writer at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pipe: IO[bytes] | None = None

    def attach(self, pipe: IO[bytes] | None) -> None:
        with self.lock:
            self.pipe = pipe

    def send(self, data: bytes) -> bool:
        """False if there is no child to write to."""
        with self.lock:
            if self.pipe is None:
                return False
            try:
                self.pipe.write(data)
                self.pipe.flush()
            except OSError:  # the child is gone: its relay ends, and the calls waiting on it fail
                return False
            return True

    def close(self) -> None:
        """The end of the child's stdin: it stops after its step."""
        with self.lock:
            pipe, self.pipe = self.pipe, None
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


class Call:
    """A call waiting for the child's answer."""

    def __init__(self) -> None:
        self.answered = threading.Event()
        self.result: Any = None
        self.error: SinkError | None = None

    def answer(self, result: Any, error: SinkError | None) -> None:
        self.result, self.error = result, error
        self.answered.set()
