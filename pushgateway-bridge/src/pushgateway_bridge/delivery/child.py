"""The delivery process: the log downstream's forwarder, on its own connections to the bridge's SQLite file.

Started by `process.py` as `python -m pushgateway_bridge.delivery.child`; reads its setup (pickled, from
its parent) as the first line of stdin, then calls (Pushgateway's requests), and wakes from a pipe of their
own (`pipes.py`); stdin's end stops it once its step is done and the calls before it are answered. It ignores
SIGINT and SIGTERM: a terminal's Ctrl-C and systemd's stop reach the whole process group, and the bridge
stops it in order (what it took is delivered and settled, or taken again next time)."""

from __future__ import annotations

import base64
import logging
import os
import pickle
import queue
import signal
import sqlite3
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from pushgateway_bridge import collector
from pushgateway_bridge.delivery import messages
from pushgateway_bridge.delivery.messages import Relay
from pushgateway_bridge.delivery.pushgateway import serve
from pushgateway_bridge.delivery.settings import DeliverySettings
from pushgateway_bridge.forwarder import BatchSink, OutboxWorker
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.sinks.logs import log_sink
from pushgateway_bridge.sinks.pushgateway import PushgatewaySink
from pushgateway_bridge.storage.base import Pending, counted, ids_of
from pushgateway_bridge.storage.group_commit import Job
from pushgateway_bridge.storage.outbox import Outbox

# The bridge's writer holds the file's write lock for one group commit at a time (milliseconds); a
# settling that waits longer than this fails its step, which is then retried.
BUSY_TIMEOUT_SECONDS = 30.0
log = logging.getLogger("pushgateway_bridge.delivery")


class ChildOutbox:
    """The outbox as the forwarder needs it: read as the bridge reads it, settled in a transaction of our
    own, what left it reported to the bridge (which counts it against the spool limit)."""

    def __init__(self, path: Path, relay: Relay, max_params: int) -> None:
        self.items = Outbox(path, spool_max=0, pending=0, max_params=max_params)  # reading and SQL only
        self.db = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
        self.relay = relay

    def due(self, downstream: str, now: float, limit: int) -> list[Pending]:
        return self.items.due(downstream, now, limit)

    def delivered(self, items: Sequence[Pending]) -> None:
        self._settle(self.items.delete_job(ids_of(items)), counted(items))

    def retry_later(self, ids: Sequence[int], next_attempt: float, error: str) -> None:
        self._settle(Outbox.retry_job(ids, next_attempt, error), 0)

    def dead_letter(self, items: Sequence[Pending], error: str) -> None:
        self._settle(Outbox.dead_letter_job(ids_of(items), error), counted(items))

    def _settle(self, job: Job, left: int) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            job(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        if left:
            self.relay.send(messages.SETTLED, left)

    def close(self) -> None:
        self.items.close()
        self.db.close()


class RelayedWorker(OutboxWorker):
    """The forwarder, its metrics and state reported to the bridge instead of recorded here; the bridge
    records them (and logs failures) as its own thread would."""

    def __init__(self, sink: BatchSink, settings: DeliverySettings, store: ChildOutbox, relay: Relay) -> None:
        super().__init__(
            "loki",
            sink,
            settings,
            store,
            None,  # every report below goes to the bridge, which records it
            settings.loki_batch_max_entries,
            settings.flush_interval_seconds,
        )
        self.relay = relay

    def up(self) -> None:
        self.failures = 0
        self.relay.send(messages.UP)

    def failed(self, error: SinkError) -> None:
        self.last_error = error.message
        if not error.permanent:
            self.failures += 1
        self.relay.send(messages.FAILED, *messages.error_fields(error))

    def forwarded(self, count: int, seconds: float) -> None:
        self.relay.send(messages.FORWARDED, count, seconds)

    def dead_lettered(self, count: int) -> None:
        self.relay.send(messages.DEAD_LETTERED, count)


class Calls(threading.Thread):
    """The bridge's calls (delivery/pushgateway.py), one at a time, in the order they came."""

    def __init__(self, settings: DeliverySettings, relay: Relay) -> None:
        super().__init__(name="calls", daemon=True)
        self.settings = settings
        self.relay = relay
        self.queue: queue.SimpleQueue[tuple[int, str, list[Any]] | None] = queue.SimpleQueue()
        self.pushgateway: PushgatewaySink | None = None

    def run(self) -> None:
        while (call := self.queue.get()) is not None:
            call_id, method, args = call
            try:
                self.relay.send(messages.ANSWER, call_id, serve(self.sink(), method, args))
            except SinkError as error:
                self.relay.send(messages.ERROR, call_id, *messages.error_fields(error))
            except Exception as exc:  # a bug here must not leave the bridge waiting
                log.exception("call %s failed", method)
                self.relay.send(messages.ERROR, call_id, f"{type(exc).__name__}: {exc}", False, "error")
        if self.pushgateway is not None:
            self.pushgateway.close()

    def sink(self) -> PushgatewaySink:
        if self.pushgateway is None:
            s = self.settings
            self.pushgateway = PushgatewaySink(s.pushgateway_url, s.request_timeout_seconds)
        return self.pushgateway


def listen(stdin: IO[bytes], worker: RelayedWorker, calls: Calls) -> None:
    """Each line a call. The end of stdin (the bridge stopping, or gone) stops the worker and, once the
    calls before it are answered, the calls."""
    for line in stdin:
        try:
            _, call_id, method, args = messages.decoded(line)
            calls.queue.put((int(call_id), str(method), list(args)))
        except (ValueError, TypeError) as exc:  # not our bridge's: read on, or its end goes unseen
            log.error("not a call: %s", exc)
    worker.stop()
    calls.queue.put(None)


def wakes(fd: int, worker: RelayedWorker, relay: Relay) -> None:
    """Wakes from the bridge, as many as came at once taken as one, acknowledged."""
    while os.read(fd, 4096):
        worker.wake.set()
        relay.send(messages.AWAKE)


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    setup = pickle.loads(base64.b64decode(sys.stdin.buffer.readline()))  # noqa: S301  (see above)
    settings: DeliverySettings = setup["settings"]
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    relay = Relay(sys.stdout.buffer)
    store = ChildOutbox(Path(setup["database"]), relay, setup["max_params"])
    worker = RelayedWorker(log_sink(settings), settings, store, relay)
    calls = Calls(settings, relay)
    calls.start()
    threading.Thread(target=listen, args=(sys.stdin.buffer, worker, calls), name="stdin", daemon=True).start()
    threading.Thread(target=wakes, args=(setup["wake_fd"], worker, relay), name="wakes", daemon=True).start()
    collector.settle()
    worker.run()  # here, not in a thread: it returns once stopped, its sink closed
    calls.join()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
