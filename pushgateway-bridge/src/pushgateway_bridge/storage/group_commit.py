"""The one writer of the SQLite file: a thread that commits whatever has queued up in one transaction.

Under load one COMMIT covers many requests, and the event loop never waits on SQLite. Each submission is
told when its own transaction has committed (only then may a request answer); the queue, the thread and
the failure rule are `commit_queue.CommitQueue`'s.

Every write goes through here: requests' entity states, outbox rows and client event ids, and the
forwarders' jobs (delivered, retried, dead-lettered), each job inside a savepoint so its error stays its
own.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pushgateway_bridge.domain.kinds import State
from pushgateway_bridge.jsontext import compact
from pushgateway_bridge.storage import records as record_sql
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, outbox_rows
from pushgateway_bridge.storage.commit_queue import CommitQueue, Done
from pushgateway_bridge.storage.records import RecordWrite

log = logging.getLogger("pushgateway_bridge.storage")
T = TypeVar("T")
# SQL run in the writer's transaction. A job that returns False changed nothing: its submission's outbox
# items are then not written either (a record update whose delivery only goes out if the update is made).
Job = Callable[[sqlite3.Connection], bool | None]
Ident = tuple[str, str]
SEEN_WINDOW_SECONDS = 3600.0


@dataclass
class Submission:
    writes: Sequence[EntityWrite]
    outbox: Sequence[OutboxItem]
    now: float
    seq: int
    done: Done
    job: Job | None = None  # further SQL in the same transaction
    pending_delta: int = 0  # outbox rows the job removes
    job_error: Exception | None = None  # the job failed alone (rolled back to its savepoint)
    declined: bool = False  # the job changed nothing or failed: the outbox items are not written
    seen: Sequence[str] = ()  # client event ids this submission claimed
    records: Sequence[RecordWrite] = ()


class GroupCommitWriter(CommitQueue[Submission]):
    """The SQLite file's writer: each queue-full in one transaction (CommitQueue)."""

    closed_error = sqlite3.ProgrammingError

    def __init__(
        self,
        db: sqlite3.Connection,
        lock: threading.Lock,
        applied: Callable[[list[Submission]], None],
        failed: Callable[[list[Submission]], None],
    ) -> None:
        super().__init__(lock, applied, failed)
        self.db = db
        # Rows per multi-row statement: as many as SQLite takes parameters for (32,766 since 3.32).
        self.max_params = min(30_000, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        self.last_seen_prune = time.time()
        self.start("sqlite-writer")

    def execute(self, job: Job, pending_delta: int = 0) -> None:
        """Run `job` in the next transaction; block until committed."""
        waiter = Waiter()
        with self.lock:
            self.enqueue(Submission((), (), time.time(), self.next_seq(), waiter.done, job, pending_delta))
        waiter.wait()

    def commit_batch(self, batch: list[Submission]) -> None:
        self._write(batch)

    def _write(self, batch: list[Submission]) -> None:
        """One transaction for the whole batch, in a few multi-row statements: each statement lets go of
        the GIL and then waits to get it back from the busy event loop, so their number is what costs.
        JSON text by `compact` (pydantic-core), 3x faster than json.dumps."""
        latest: dict[Ident, tuple[State | None, float]] = {}
        for item in batch:
            for write in item.writes:
                latest[(write.kind, write.key)] = (write.state, item.now)  # last write wins
        upserts = [(kind, key, compact(state), now) for (kind, key), (state, now) in latest.items() if state]
        deletes = [(now, kind, key) for (kind, key), (state, now) in latest.items() if state is None]
        seen = [(event_id, item.now) for item in batch for event_id in item.seen]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for entities in chunks(upserts, self.max_params // 4):
                self.db.execute(
                    "INSERT INTO entities (kind, key, state, updated, deleted) VALUES "  # noqa: S608 (placeholders)
                    + placeholders("(?, ?, ?, ?, 0)", len(entities))
                    + " ON CONFLICT (kind, key) DO UPDATE SET state = excluded.state,"
                    " updated = excluded.updated, deleted = 0",
                    [value for row in entities for value in row],
                )
            if deletes:
                self.db.executemany(
                    "UPDATE entities SET deleted = 1, updated = ? WHERE kind = ? AND key = ?", deletes
                )
            for item in batch:
                if item.job is not None:
                    self._run_job(item)
            rows = outbox_rows(batch)
            self._insert_seen(seen)
            for item in batch:
                if item.records:
                    record_sql.insert(self.db, item.records, item.now)
            for items in chunks(rows, self.max_params // 6):
                self.db.execute(
                    "INSERT INTO outbox (downstream, key, payload, next_attempt, created, deliveries) VALUES "  # noqa: S608
                    + placeholders("(?, ?, ?, ?, ?, ?)", len(items)),
                    [value for row in items for value in row],
                )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _insert_seen(self, seen: list[tuple[str, float]]) -> None:
        for ids in chunks(seen, self.max_params // 2):
            self.db.execute(
                "INSERT OR IGNORE INTO seen_events (event_id, seen) VALUES "  # noqa: S608 (placeholders)
                + placeholders("(?, ?)", len(ids)),
                [value for row in ids for value in row],
            )
        if seen and seen[-1][1] - self.last_seen_prune > 60:
            self.db.execute("DELETE FROM seen_events WHERE seen < ?", (seen[-1][1] - SEEN_WINDOW_SECONDS,))
            self.last_seen_prune = seen[-1][1]

    def _run_job(self, item: Submission) -> None:
        """A forwarder's job fails on its own: a savepoint keeps its error from the requests beside it."""
        assert item.job is not None
        self.db.execute("SAVEPOINT job")
        try:
            declined = item.job(self.db) is False
        except sqlite3.Error as exc:
            self.db.execute("ROLLBACK TO job")
            item.job_error = exc
            declined = True
        self.db.execute("RELEASE job")
        if declined:
            item.declined = True
            # Nothing the job counted happened, and the outbox items reserved for it are not written:
            # `applied` counts them as added, so they are counted as removed too.
            item.pending_delta = -len(item.outbox)


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def placeholders(group: str, count: int) -> str:
    """`count` copies of a constant parameter group such as "(?, ?)": never any data in the SQL text."""
    return ",".join([group] * count)


class Waiter:
    """`done` for a caller that blocks until its writes are committed."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.error: BaseException | None = None

    def done(self, error: BaseException | None) -> None:
        self.error = error
        self.event.set()

    def wait(self) -> None:
        self.event.wait()
        if self.error is not None:
            raise self.error
