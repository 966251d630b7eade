"""SQLite storage in WAL mode: the `Storage` protocol over three parts that share one lock.

- `group_commit.GroupCommitWriter`: the one writer thread; a queue-full of requests per transaction.
- `entity_cache.EntityCache`: every entity's state in memory, staged writes, what still needs a push.
- `outbox.Outbox`: deliveries, read through a second connection, settled through the writer.

Nothing uncommitted is ever pushed or answered with a 2xx: a request's `done` is called once its
transaction has committed; if one fails, its requests and every one queued behind it fail and the staged
writes are dropped.

Client event ids (the sidecar API's event_id) are remembered for SEEN_WINDOW_SECONDS in the seen_events
table, written in the same transaction as the event's writes: a client that resends a batch whose answer it
never got (the SDK does) is recognised, so no run is counted twice, also across a restart. Only the ids of
submissions not yet committed are held in memory: a full window (a million ids and more) would cost the
process more memory than everything else together.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, overload

from pushgateway_bridge.domain.kinds import Kind, S, State
from pushgateway_bridge.storage import records as record_sql
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, Pending, counted, ids_of
from pushgateway_bridge.storage.commit_queue import Done
from pushgateway_bridge.storage.entity_cache import EntityCache
from pushgateway_bridge.storage.group_commit import (
    SEEN_WINDOW_SECONDS,
    GroupCommitWriter,
    Submission,
    Waiter,
    chunks,
    placeholders,
)
from pushgateway_bridge.storage.outbox import Outbox
from pushgateway_bridge.storage.records import Body, Page, RecordWrite

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, updated REAL NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, downstream TEXT NOT NULL, key TEXT NOT NULL,
    payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
    created REAL NOT NULL, last_error TEXT, deliveries INTEGER NOT NULL DEFAULT 1
);
-- Due items in id order: a batch walks the index and stops at the limit, whatever the backlog.
DROP INDEX IF EXISTS outbox_due;
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (downstream, id);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY, downstream TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL, created REAL NOT NULL, failed REAL NOT NULL, error TEXT NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1
);
-- Never used (0.1.0 created it): dropped from files made by that version.
DROP TABLE IF EXISTS counters;
CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen REAL NOT NULL);
"""
# Columns added since a table was first made: (table, column, its definition), added to older files.
ADDED_COLUMNS = (
    # The deliveries a row holds (OutboxItem.deliveries: a sidecar batch's events), which the spool counts.
    ("outbox", "deliveries", "INTEGER NOT NULL DEFAULT 1"),
    ("dead_letters", "deliveries", "INTEGER NOT NULL DEFAULT 1"),
)


def add_columns(db: sqlite3.Connection) -> None:
    for table, column, definition in ADDED_COLUMNS:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


class SQLiteStorage:
    def __init__(self, path: Path, spool_max_events: int, synchronous: str = "NORMAL") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.mem = threading.Lock()  # the cache, the seen ids, the spool count and the write queue
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)  # the writer's
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.executescript(SCHEMA)
        add_columns(db)
        db.executescript(record_sql.SCHEMA)
        self.cache = EntityCache(db.execute("SELECT kind, key, state, updated, deleted FROM entities"))
        (pending,) = db.execute("SELECT coalesce(sum(deliveries), 0) FROM outbox").fetchone()
        db.execute("DELETE FROM seen_events WHERE seen < ?", (time.time() - SEEN_WINDOW_SECONDS,))
        self.claimed: dict[str, None] = {}  # ids of submissions not yet committed (under `mem`)
        self.claiming = threading.Lock()  # one claim at a time, and claim()'s reading connection
        self.seen_reader = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.writer = GroupCommitWriter(db, self.mem, self._applied, self._failed)
        self.outbox = Outbox(path, spool_max_events, pending, self.writer.max_params)

    # --- entities ---------------------------------------------------------------------------------

    @overload
    def get(self, kind: Kind[S], key: str) -> S | None: ...
    @overload
    def get(self, kind: str, key: str) -> State | None: ...

    def get(self, kind: str, key: str) -> State | None:
        """The latest state, including writes submitted but not yet committed."""
        return self.cache.get(kind, key)

    @overload
    def entities(self, kind: Kind[S]) -> dict[str, S]: ...
    @overload
    def entities(self, kind: str) -> dict[str, State]: ...

    def entities(self, kind: str) -> dict[str, Any]:
        with self.mem:
            return self.cache.entities(kind)

    def dirty(self) -> list[tuple[str, str, int]]:
        with self.mem:
            return self.cache.dirty()

    def snapshot(self, kind: str, key: str) -> State | None:
        with self.mem:
            return self.cache.snapshot(kind, key)

    def mark_pushed(self, kind: str, key: str, version: int) -> None:
        with self.mem:
            self.cache.mark_pushed(kind, key, version)

    def mark_all_dirty(self) -> None:
        with self.mem:
            self.cache.mark_all_dirty()

    def tombstones(self) -> list[tuple[str, str, State]]:
        with self.mem:
            return self.cache.tombstones()

    def forget_tombstone(self, kind: str, key: str) -> None:
        self.writer.execute(
            lambda db: db.execute(
                "DELETE FROM entities WHERE kind = ? AND key = ? AND deleted = 1", (kind, key)
            ).close()
        )
        with self.mem:
            self.cache.deleted.pop((kind, key), None)

    def expire(self, kind: str, older_than: float) -> list[tuple[str, State]]:
        """Turn entities of `kind` silent since `older_than` into tombstones; return them."""
        waiter = Waiter()
        with self.mem:
            silent = self.cache.silent(kind, older_than)
            if not silent:
                return []
            writes = [EntityWrite(kind, key, None) for key, _ in silent]
            self._submit_locked(Submission(writes, (), time.time(), 0, waiter.done))
        waiter.wait()
        return silent

    # --- client event ids ---------------------------------------------------------------------------

    def claim(self, event_ids: Sequence[str]) -> list[bool]:
        """For each id: True if it is new (and now taken), False if it was seen before (a resend)."""
        with self.claiming:
            with self.mem:
                unclaimed = {event_id for event_id in event_ids if event_id not in self.claimed}
            # An id that left `claimed` since is in the table: its commit comes before it leaves.
            committed = self._committed_ids(sorted(unclaimed))
            fresh = []
            with self.mem:
                for event_id in event_ids:
                    new = event_id in unclaimed and event_id not in committed and event_id not in self.claimed
                    if new:
                        self.claimed[event_id] = None
                    fresh.append(new)
        return fresh

    def _committed_ids(self, event_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for ids in chunks(event_ids, self.writer.max_params):
            found.update(
                row[0]
                for row in self.seen_reader.execute(
                    "SELECT event_id FROM seen_events WHERE event_id IN ("  # noqa: S608 (placeholders)
                    + placeholders("?", len(ids))
                    + ")",
                    ids,
                )
            )
        return found

    def release(self, event_ids: Sequence[str]) -> None:
        """Forget ids claimed for a submission that was refused (SpoolFull) or failed."""
        with self.mem:
            for event_id in event_ids:
                self.claimed.pop(event_id, None)

    # --- writing --------------------------------------------------------------------------------------

    def submit(
        self,
        writes: Sequence[EntityWrite],
        outbox: Sequence[OutboxItem],
        done: Done,
        seen: Sequence[str] = (),
        records: Sequence[RecordWrite] = (),
    ) -> None:
        """Queue writes for the next group commit; `done(None)` is called (from the writer thread) once
        they are committed, `done(error)` if they never will be. Raises SpoolFull at once. `seen`: claimed
        client event ids, stored with the writes; `records`: documents to list later."""
        with self.mem:
            submission = Submission(writes, outbox, time.time(), 0, done, seen=seen, records=records)
            self._submit_locked(submission)

    def _submit_locked(self, submission: Submission) -> None:
        submission.seq = self.writer.next_seq()
        self.outbox.reserve(counted(submission.outbox))
        self.cache.stage(submission.writes, submission.seq)
        self.writer.enqueue(submission)

    def commit(self, writes: Sequence[EntityWrite], outbox: Sequence[OutboxItem]) -> None:
        """Durably apply all writes and enqueue all items, or nothing; blocks until committed."""
        waiter = Waiter()
        self.submit(writes, outbox, waiter.done)
        waiter.wait()

    def _applied(self, batch: list[Submission]) -> None:
        """Committed (the writer holds the lock): into the cache and the spool count."""
        for item in batch:
            self.outbox.committed(counted(item.outbox), -item.pending_delta)
            self.cache.applied(item.writes, item.seq, item.now)
            for event_id in item.seen:  # in seen_events now
                self.claimed.pop(event_id, None)

    def _failed(self, batch: list[Submission]) -> None:
        """Rolled back (the writer holds the lock): nothing staged or claimed will ever commit."""
        self.cache.drop_staged()
        self.outbox.none_queued()
        for item in batch:
            for event_id in item.seen:
                self.claimed.pop(event_id, None)

    # --- outbox -----------------------------------------------------------------------------------

    def due(self, downstream: str, now: float, limit: int) -> list[Pending]:
        return self.outbox.due(downstream, now, limit)

    def delivered(self, items: Sequence[Pending]) -> None:
        if items:
            self.writer.execute(self.outbox.delete_job(ids_of(items)), -counted(items))

    def retry_later(self, ids: Sequence[int], next_attempt: float, error: str) -> None:
        self.writer.execute(self.outbox.retry_job(ids, next_attempt, error))

    def dead_letter(self, items: Sequence[Pending], error: str) -> None:
        """Permanent failure: the items move to dead_letters, where a person can see why."""
        self.writer.execute(self.outbox.dead_letter_job(ids_of(items), error), -counted(items))

    def settled_elsewhere(self, count: int) -> None:
        """`count` items left the outbox through another connection (the delivery process's)."""
        with self.mem:
            self.outbox.committed(0, count)

    def record(self, kind: str, key: str) -> Body | None:
        with self.outbox.lock:
            return record_sql.get(self.outbox.reader, kind, key)

    def records(self, query: Page) -> list[tuple[float, str, Body]]:
        with self.outbox.lock:
            return record_sql.page(self.outbox.reader, query)

    def update_record(
        self,
        kind: str,
        key: str,
        change: Callable[[Body], Body | None],
        outbox: Sequence[OutboxItem] = (),
    ) -> bool:
        now = time.time()
        waiter = Waiter()
        with self.mem:
            job = record_sql.update_job(kind, key, change, now)
            submission = Submission((), outbox, now, 0, waiter.done, job)
            self._submit_locked(submission)
        waiter.wait()
        return not submission.declined

    def dead_letters(self, downstream: str | None = None) -> list[tuple[str, str, str]]:
        return self.outbox.dead_letters(downstream)

    def pending_stats(self) -> dict[str, tuple[int, float | None]]:
        return self.outbox.pending_stats()

    def pending_total(self) -> int:
        return int(self.outbox.pending)

    def leading(self) -> bool:
        return True  # one bridge a SQLite file

    def close(self) -> None:
        """Commit what is queued, stop the writer, close the database."""
        self.writer.close()
        self.outbox.close()
        with self.claiming:
            self.seen_reader.close()
        self.writer.db.close()
