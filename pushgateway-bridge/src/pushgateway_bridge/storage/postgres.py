"""PostgreSQL storage: the `Storage` protocol for several bridges sharing one database (`storage_url`).

- Entities: read from the database (a bridge's own writes in flight first), written by the writer thread
  under row locks, each write's transition applied again to the stored state (`postgres_writer.py`).
- Client event ids: claimed at once with INSERT ... ON CONFLICT, so a resend to another bridge is
  recognised; a claim whose bridge died before its commit is taken again (`postgres_schema.py`).
- Outbox: items taken with `FOR UPDATE SKIP LOCKED` and held for `lease_seconds`, so two bridges never
  deliver the same item at once, and a killed bridge's items are delivered by another once the lease ends.
- Pushgateway: one bridge at a time pushes (`PusherLock`), always the latest committed state.
- Records of the `broadcast` kinds are announced at commit with NOTIFY; `listen` hears other bridges'.

Times are the bridges' clocks (Unix seconds), as in SQLite: keep the bridges' clocks in step (NTP).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, overload

from pushgateway_bridge.domain.kinds import Kind, S, State
from pushgateway_bridge.storage import postgres_outbox as outbox
from pushgateway_bridge.storage import postgres_schema
from pushgateway_bridge.storage.base import (
    EntityWrite,
    OutboxItem,
    Pending,
    SpoolFull,
    StorageUnavailable,
    counted,
    ids_of,
)
from pushgateway_bridge.storage.commit_queue import Done
from pushgateway_bridge.storage.group_commit import Waiter
from pushgateway_bridge.storage.postgres_records import page, update_job
from pushgateway_bridge.storage.postgres_shared import Connections, PusherLock, RecordListener
from pushgateway_bridge.storage.postgres_writer import Ident, PostgresWriter, Submission
from pushgateway_bridge.storage.records import Body, Page, RecordWrite

log = logging.getLogger("pushgateway_bridge.storage")
# A claim not committed after this long is taken again even if its bridge still runs (a commit takes
# milliseconds; this only frees ids a bug left behind).
CLAIM_STALE_SECONDS = 300.0
PENDING_REFRESH_SECONDS = 1.0  # how stale the shared outbox count may be for the spool limit


class PostgresStorage:
    def __init__(
        self,
        url: str,
        spool_max_events: int,
        lease_seconds: float = 30.0,
        bridge_id: str = "",
        broadcast: frozenset[str] = frozenset(),
    ) -> None:
        self.connections = Connections(url)
        with self.connections.use() as db:
            postgres_schema.create(db)
        self.spool_max = spool_max_events
        self.lease_seconds = lease_seconds
        self.bridge_id = bridge_id or f"bridge-{time.time_ns()}"
        self.mem = threading.Lock()  # staged writes, the spool count and the write queue
        self.staged: dict[Ident, tuple[State | None, int]] = {}
        self.queued = 0  # outbox items submitted here, not yet committed
        self.pending = 0  # the outbox's rows, all bridges', as last counted
        self.pending_at = 0.0
        self.pusher = PusherLock(self.connections)
        self.listener: RecordListener | None = None
        self.writer = PostgresWriter(
            self.connections.connect,
            self.mem,
            self._applied,
            self._failed,
            bridge_id=self.bridge_id,
            broadcast=broadcast,
        )
        self.pending_stats()

    def listen(self, heard: Callable[[str, str], None]) -> None:
        """Call `heard(kind, key)` for each record of a broadcast kind another bridge commits."""
        self.listener = RecordListener(self.connections, self.bridge_id, heard)
        self.listener.start()

    # --- entities ---------------------------------------------------------------------------------

    @overload
    def get(self, kind: Kind[S], key: str) -> S | None: ...
    @overload
    def get(self, kind: str, key: str) -> State | None: ...

    def get(self, kind: str, key: str) -> State | None:
        staged = self.staged.get((kind, key))
        if staged is not None:
            return staged[0]
        return self.snapshot(kind, key)

    @overload
    def entities(self, kind: Kind[S]) -> dict[str, S]: ...
    @overload
    def entities(self, kind: str) -> dict[str, State]: ...

    def entities(self, kind: str) -> dict[str, Any]:
        with self.connections.use() as db:
            rows = db.execute(
                "SELECT key, state FROM entities WHERE kind = %s AND NOT deleted AND state IS NOT NULL",
                (kind,),
            ).fetchall()
        return {key: state for key, state in rows}

    def snapshot(self, kind: str, key: str) -> State | None:
        with self.connections.use() as db:
            row = db.execute(
                "SELECT state FROM entities WHERE kind = %s AND key = %s AND NOT deleted", (kind, key)
            ).fetchone()
        return row[0] if row else None

    def dirty(self) -> list[tuple[str, str, int]]:
        """Only the pusher's list is not empty: the other bridges leave the Pushgateway work to it."""
        if not self.pusher.leading():
            return []
        with self.connections.use() as db:
            rows = db.execute(
                "SELECT kind, key, version FROM entities"
                " WHERE version <> pushed_version AND NOT deleted AND state IS NOT NULL"
            ).fetchall()
        return [(kind, key, version) for kind, key, version in rows]

    def mark_pushed(self, kind: str, key: str, version: int) -> None:
        with self.connections.use() as db:
            db.execute(
                "UPDATE entities SET pushed_version = %s WHERE kind = %s AND key = %s AND version >= %s",
                (version, kind, key, version),
            )

    def mark_all_dirty(self) -> None:
        with self.connections.use() as db:
            db.execute("UPDATE entities SET pushed_version = 0 WHERE pushed_version <> 0")

    def tombstones(self) -> list[tuple[str, str, State]]:
        if not self.pusher.leading():
            return []
        with self.connections.use() as db:
            rows = db.execute(
                "SELECT kind, key, state FROM entities WHERE deleted AND state IS NOT NULL"
            ).fetchall()
        return [(kind, key, state) for kind, key, state in rows]

    def forget_tombstone(self, kind: str, key: str) -> None:
        with self.connections.use() as db:
            db.execute("DELETE FROM entities WHERE kind = %s AND key = %s AND deleted", (kind, key))

    def expire(self, kind: str, older_than: float) -> list[tuple[str, State]]:
        """One statement: a row two bridges expire at once is returned to one of them."""
        with self.connections.use() as db:
            rows = db.execute(
                "UPDATE entities SET deleted = TRUE, version = version + 1, updated = %s"
                " WHERE kind = %s AND updated < %s AND NOT deleted AND state IS NOT NULL"
                " RETURNING key, state",
                (time.time(), kind, older_than),
            ).fetchall()
        return [(key, state) for key, state in rows]

    # --- client event ids ---------------------------------------------------------------------------

    def claim(self, event_ids: Sequence[str]) -> list[bool]:
        now = time.time()
        with self.connections.use() as db:
            taken = {
                row[0]
                for row in db.execute(
                    "INSERT INTO seen_events (event_id, seen, owner) SELECT unnest(%s::text[]), %s, %s"
                    " ON CONFLICT (event_id) DO UPDATE SET seen = excluded.seen, owner = excluded.owner"
                    " WHERE NOT seen_events.committed AND (seen_events.seen < %s OR NOT EXISTS"
                    " (SELECT 1 FROM pg_stat_activity a WHERE a.pid = seen_events.owner))"
                    " RETURNING event_id",
                    (list(event_ids), now, self.writer.owner, now - CLAIM_STALE_SECONDS),
                )
            }
        return [event_id in taken for event_id in event_ids]

    def release(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            with self.connections.use() as db:
                db.execute(
                    "DELETE FROM seen_events WHERE event_id = ANY(%s) AND NOT committed", (list(event_ids),)
                )

    # --- writing --------------------------------------------------------------------------------------

    def submit(
        self,
        writes: Sequence[EntityWrite],
        outbox: Sequence[OutboxItem],
        done: Done,
        seen: Sequence[str] = (),
        records: Sequence[RecordWrite] = (),
    ) -> None:
        with self.mem:
            self._submit_locked(Submission(writes, outbox, time.time(), 0, done, seen=seen, records=records))

    def _submit_locked(self, submission: Submission) -> None:
        count = counted(submission.outbox)
        queued = self.pending + self.queued
        if count and queued + count > self.spool_max:
            raise SpoolFull(f"{queued} undelivered events (spool_max_events={self.spool_max})")
        submission.seq = self.writer.next_seq()
        self.queued += count
        for write in submission.writes:
            self.staged[(write.kind, write.key)] = (write.state, submission.seq)
        self.writer.enqueue(submission)

    def commit(self, writes: Sequence[EntityWrite], outbox: Sequence[OutboxItem]) -> None:
        waiter = Waiter()
        self.submit(writes, outbox, waiter.done)
        waiter.wait()

    def _applied(self, batch: list[Submission]) -> None:
        """Committed (the writer holds the lock)."""
        for item in batch:
            count = counted(item.outbox)
            self.queued -= count
            if not item.declined:
                self.pending += count
            for write in item.writes:
                ident = (write.kind, write.key)
                staged = self.staged.get(ident)
                if staged is not None and staged[1] == item.seq:
                    del self.staged[ident]

    def _failed(self, batch: list[Submission]) -> None:
        """Rolled back: nothing staged will commit, and the claimed ids are let go for a resend."""
        self.staged.clear()
        self.queued = 0
        ids = [event_id for item in batch for event_id in item.seen]
        try:
            self.release(ids)
        except StorageUnavailable as exc:  # the claims are taken again once their owner (the writer) is gone
            log.warning("could not let go of %d claimed event ids: %s", len(ids), exc)

    # --- outbox -----------------------------------------------------------------------------------

    def due(self, downstream: str, now: float, limit: int) -> list[Pending]:
        with self.connections.use() as db:
            return outbox.take(db, downstream, now, limit, self.lease_seconds)

    def delivered(self, items: Sequence[Pending]) -> None:
        if items:
            with self.connections.use() as db:
                outbox.delete(db, ids_of(items))
            self._count_down(counted(items))

    def retry_later(self, ids: Sequence[int], next_attempt: float, error: str) -> None:
        with self.connections.use() as db:
            outbox.retry(db, ids, next_attempt, error)

    def dead_letter(self, items: Sequence[Pending], error: str) -> None:
        with self.connections.use() as db:
            outbox.dead_letter(db, ids_of(items), error, time.time())
        self._count_down(counted(items))

    def _count_down(self, removed: int) -> None:
        with self.mem:
            self.pending = max(0, self.pending - removed)

    def dead_letters(self, downstream: str | None = None) -> list[tuple[str, str, str]]:
        with self.connections.use() as db:
            return outbox.dead_letters(db, downstream)

    def pending_stats(self) -> dict[str, tuple[int, float | None]]:
        with self.connections.use() as db:
            stats = outbox.stats(db)
        with self.mem:
            self.pending, self.pending_at = sum(count for count, _ in stats.values()), time.monotonic()
        return stats

    def leading(self) -> bool:
        return self.pusher.leading()

    def pending_total(self) -> int:
        """Every bridge's undelivered items, counted again at most once a PENDING_REFRESH_SECONDS."""
        if time.monotonic() - self.pending_at > PENDING_REFRESH_SECONDS:
            self.pending_stats()
        return self.pending

    # --- records ----------------------------------------------------------------------------------

    def record(self, kind: str, key: str) -> Body | None:
        with self.connections.use() as db:
            row = db.execute("SELECT body FROM records WHERE kind = %s AND key = %s", (kind, key)).fetchone()
        return row[0] if row else None

    def records(self, query: Page) -> list[tuple[float, str, Body]]:
        with self.connections.use() as db:
            return page(db, query)

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
            submission = Submission((), outbox, now, 0, waiter.done, update_job(kind, key, change, now))
            self._submit_locked(submission)
        waiter.wait()
        return not submission.declined

    def close(self) -> None:
        """Commit what is queued, stop the writer and the listener, close every connection."""
        self.writer.close()
        if self.listener is not None:
            self.listener.stop()
            self.listener.join(timeout=5)
        self.connections.close()
