"""The bridge's side of the delivery process: it starts the child, wakes it, applies what it reports and
starts it again if it dies.

Shutdown: stop() closes the child's stdin; the child finishes its step (a delivery it made is settled,
one it did not is taken again next time) and exits. A child that dies between settling a step and
reporting it leaves the spool count high by one step until the bridge restarts: the limit errs on the
side of refusing early, never of losing."""

from __future__ import annotations

import base64
import contextlib
import logging
import pickle
import subprocess
import sys
import threading
from typing import IO, Any

from pushgateway_bridge.delivery import messages
from pushgateway_bridge.forwarder import Worker, backoff
from pushgateway_bridge.metrics import BridgeMetrics
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.storage.sqlite import SQLiteStorage

STOP_SECONDS = 10.0  # for the child's last step (its sink call times out first), unless join() says
log = logging.getLogger("pushgateway_bridge.delivery")


class ChildWake(threading.Event):
    """`Worker.wake` for a worker in another process: set() sends one wake at a time down its stdin."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.pipe: IO[bytes] | None = None
        self.sent = False  # a wake the child has not read yet

    def attach(self, pipe: IO[bytes] | None) -> None:
        with self.lock:
            self.pipe, self.sent = pipe, False

    def read(self) -> None:
        self.sent = False

    def is_set(self) -> bool:
        return self.sent

    def set(self) -> None:
        with self.lock:
            if self.sent or self.pipe is None:
                return
            self.sent = True
            try:
                self.pipe.write(messages.WAKE)
                self.pipe.flush()
            except OSError:  # the child is gone: run() starts another, which looks for work at once
                pass

    def close(self) -> None:
        with self.lock:
            pipe, self.pipe = self.pipe, None
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


class DeliveryProcess(Worker):
    """Stands in for the log downstream's OutboxWorker: the bridge wakes it, reads its failures and last
    error and stops it as it does a thread of its own."""

    downstream = "loki"

    def __init__(self, settings: Settings, storage: SQLiteStorage, metrics: BridgeMetrics) -> None:
        super().__init__(settings, storage, metrics)
        self.store = storage
        self.child_wake = self.wake = ChildWake()
        self.child: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            child = self.child = self.spawn()
            self.starts += 1
            self.relay(child)
            status = child.wait()
            self.child_wake.attach(None)
            if self.stopping.is_set():
                break
            log.error("the delivery process exited with status %s: starting another", status)
            self.stopping.wait(backoff(min(self.starts, 6), self.settings))

    def spawn(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            [sys.executable, "-m", "pushgateway_bridge.delivery.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None
        setup = {
            "settings": self.settings,
            "database": str(self.settings.database_path),
            "max_params": self.store.writer.max_params,
        }
        try:
            child.stdin.write(base64.b64encode(pickle.dumps(setup)) + b"\n")
            child.stdin.flush()
        except OSError:
            pass  # it died at once: relay() sees its end
        self.child_wake.attach(child.stdin)
        if self.stopping.is_set():  # stop() came while it started: it found no stdin to close
            self.child_wake.close()
        return child

    def relay(self, child: subprocess.Popen[bytes]) -> None:
        """Apply the child's messages until its stdout ends."""
        assert child.stdout is not None
        for line in child.stdout:
            try:
                self.apply(messages.decoded(line))
            except (ValueError, TypeError, IndexError) as exc:
                log.error("the delivery process sent %r: %s", line[:200], exc)

    def apply(self, message: list[Any]) -> None:
        name, args = message[0], message[1:]
        if name == messages.SETTLED:
            self.store.settled_elsewhere(int(args[0]))
        elif name == messages.FORWARDED:
            self.forwarded(int(args[0]), float(args[1]))
        elif name == messages.UP:
            self.up()
        elif name == messages.FAILED:
            self.failed(SinkError(str(args[0]), permanent=bool(args[1]), kind=str(args[2])))
        elif name == messages.DEAD_LETTERED:
            self.dead_lettered()
        elif name == messages.AWAKE:
            self.child_wake.read()
        else:
            raise ValueError(f"unknown message {name!r}")

    def stop(self) -> None:
        self.stopping.set()
        self.child_wake.close()  # the end of its stdin: the child stops after its step

    def join(self, timeout: float | None = None) -> None:
        """The child first (killed if it does not end in time), then the thread relaying its messages."""
        child = self.child
        if child is not None:
            try:
                child.wait(STOP_SECONDS if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                log.error("the delivery process did not stop in time: killed")
                child.kill()
                child.wait()
        super().join(timeout)
