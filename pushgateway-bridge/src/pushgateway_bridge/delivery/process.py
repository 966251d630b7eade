"""The bridge's side of the delivery process: it starts the child, wakes it, calls it (Pushgateway's
requests, `pushgateway.py`), applies what it reports and starts it again if it dies.

Shutdown: stop() closes the child's stdin; the child finishes its step (a delivery it made is settled,
one it did not is taken again next time) and exits. A child that dies between settling a step and
reporting it leaves the spool count high by one step until the bridge restarts: the limit errs on the
side of refusing early, never of losing."""

from __future__ import annotations

import base64
import itertools
import logging
import os
import pickle
import subprocess
import sys
import threading
from typing import Any

from pushgateway_bridge.delivery import messages
from pushgateway_bridge.delivery.pipes import Call, ChildInput, ChildWake
from pushgateway_bridge.delivery.settings import DeliverySettings
from pushgateway_bridge.forwarder import Worker, backoff
from pushgateway_bridge.metrics import BridgeMetrics
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.storage.sqlite import SQLiteStorage

CALL_START_SECONDS = 30.0  # the longest a call waits for a child to start (imports: about a second)
STOP_SECONDS = 10.0  # for the child's last step (its sink call times out first), unless join() says
log = logging.getLogger("pushgateway_bridge.delivery")


class DeliveryProcess(Worker):
    """Stands in for the log downstream's OutboxWorker: the bridge wakes it, reads its failures and last
    error and stops it as it does a thread of its own."""

    downstream = "loki"
    settings: Settings
    storage: SQLiteStorage

    def __init__(self, settings: Settings, storage: SQLiteStorage, metrics: BridgeMetrics) -> None:
        super().__init__(settings, storage, metrics)
        self.child_wake = self.wake = ChildWake()
        self.input = ChildInput()
        self.child: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.running = threading.Event()  # a child is there to call
        self.calls_lock = threading.Lock()
        self.calls: dict[int, Call] = {}
        self.call_ids = itertools.count(1)

    def call(self, method: str, *args: Any) -> Any:
        """`method` of the child's (delivery/pushgateway.py), its result or its SinkError. Waits for a child
        while one starts; fails at once once the bridge stops, or when the child exits before answering."""
        if not self.running.wait(CALL_START_SECONDS):
            raise SinkError("the delivery process is not running", kind="unreachable")
        call = Call()
        with self.calls_lock:
            call_id = next(self.call_ids)
            self.calls[call_id] = call
        if not self.input.send(messages.line(messages.CALL, call_id, method, list(args))):
            with self.calls_lock:
                self.calls.pop(call_id, None)
            raise SinkError("the delivery process is not running", kind="unreachable")
        call.answered.wait()
        if call.error is not None:
            raise call.error
        return call.result

    def fail_calls(self) -> None:
        with self.calls_lock:
            calls, self.calls = self.calls, {}
        for call in calls.values():
            call.answer(None, SinkError("the delivery process exited before it answered", kind="unreachable"))

    def run(self) -> None:
        while not self.stopping.is_set():
            child = self.child = self.spawn()
            self.starts += 1
            self.running.set()
            self.relay(child)
            status = child.wait()
            self.running.clear()
            self.child_wake.attach(None)
            self.input.attach(None)
            self.fail_calls()
            if self.stopping.is_set():
                break
            log.error("the delivery process exited with status %s: starting another", status)
            self.stopping.wait(backoff(min(self.starts, 6), self.settings))
        self.running.set()  # stopped: calls fail at once

    def spawn(self) -> subprocess.Popen[bytes]:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "pushgateway_bridge.delivery.child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=(wake_read,),
            )
        finally:
            os.close(wake_read)
        assert child.stdin is not None
        setup = {
            "settings": DeliverySettings.of(self.settings),
            "database": str(self.settings.database_path),
            "max_params": self.storage.writer.max_params,
            "wake_fd": wake_read,  # the same number in the child (pass_fds)
        }
        self.input.attach(child.stdin)
        self.child_wake.attach(wake_write)
        self.input.send(base64.b64encode(pickle.dumps(setup)) + b"\n")  # if it died at once, relay() sees it
        if self.stopping.is_set():  # stop() came while it started: it found no stdin to close
            self.input.close()
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
            self.storage.settled_elsewhere(int(args[0]))
        elif name == messages.FORWARDED:
            self.forwarded(int(args[0]), float(args[1]))
        elif name == messages.UP:
            self.up()
        elif name == messages.FAILED:
            self.failed(messages.sink_error(args))
        elif name == messages.DEAD_LETTERED:
            self.dead_lettered(int(args[0]))
        elif name == messages.AWAKE:
            self.child_wake.read()
        elif name in (messages.ANSWER, messages.ERROR):
            with self.calls_lock:
                call = self.calls.pop(int(args[0]), None)
            if call is not None:
                error = messages.sink_error(args[1:]) if name == messages.ERROR else None
                call.answer(None if error else args[1], error)
        else:
            raise ValueError(f"unknown message {name!r}")

    def stop(self) -> None:
        self.stopping.set()
        self.input.close()  # the end of its stdin: the child stops after its step
        self.child_wake.close()
        self.running.set()  # a call made from now on fails at once (no stdin to write to)

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
