"""The PostgreSQL writer of one bridge: a thread that commits whatever has queued up in one transaction.

As SQLite's group commit (`group_commit.py`): one transaction a round, each submission told once its own
transaction has committed (only then may its request answer), a failed transaction failing its
submissions and every one queued behind them.

What sharing adds: the round first locks the rows of every entity it writes (`SELECT ... FOR UPDATE`, in
key order so two bridges never wait on each other in a cycle; a new entity gets a placeholder row first,
so that its creation is locked too) and applies each write's `change` again to the state stored, so a
write another bridge committed meanwhile is built on: a run is counted once, whichever bridge took it.
A deadlock PostgreSQL breaks anyway, or a serialization failure, runs the round again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors

from pushgateway_bridge.domain.kinds import State
from pushgateway_bridge.jsontext import compact
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, StorageUnavailable, outbox_rows
from pushgateway_bridge.storage.commit_queue import CommitQueue, Done
from pushgateway_bridge.storage.group_commit import SEEN_WINDOW_SECONDS
from pushgateway_bridge.storage.postgres_schema import RECORDS_CHANNEL
from pushgateway_bridge.storage.records import RecordWrite

log = logging.getLogger("pushgateway_bridge.storage")
Connection = psycopg.Connection[tuple[Any, ...]]
# SQL run in the round's transaction (a record's read-modify-write). False: it changed nothing, and its
# submission's outbox items are not written either.
Job = Callable[[Connection], bool | None]
Ident = tuple[str, str]
RETRIES = 5  # rounds run again after a deadlock or serialization failure


@dataclass
class Submission:
    writes: Sequence[EntityWrite]
    outbox: Sequence[OutboxItem]
    now: float
    seq: int
    done: Done
    job: Job | None = None
    seen: Sequence[str] = ()  # claimed client event ids, marked committed with the writes
    records: Sequence[RecordWrite] = ()
    declined: bool = False  # the job changed nothing or failed: the outbox items are not written
    job_error: Exception | None = None


class PostgresWriter(CommitQueue[Submission]):
    """One bridge's writer: each queue-full in one transaction (CommitQueue), run again on a deadlock."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        lock: threading.Lock,
        applied: Callable[[list[Submission]], None],
        failed: Callable[[list[Submission]], None],
        *,
        bridge_id: str,
        broadcast: frozenset[str],
    ) -> None:
        super().__init__(lock, applied, failed)
        self.connect = connect
        self.db = connect()
        self.bridge_id = bridge_id
        self.broadcast = broadcast  # record kinds announced on RECORDS_CHANNEL
        self.last_seen_prune = 0.0
        self.start("postgres-writer")

    @property
    def owner(self) -> int:
        """What claims are marked with: the writer's backend, whose end means they never commit."""
        return int(self.db.info.backend_pid)

    def close(self) -> None:
        super().close()
        self.db.close()

    def commit_batch(self, batch: list[Submission]) -> None:
        self._write_retrying(batch)

    def failure(self, exc: Exception) -> BaseException:
        log.warning("PostgreSQL transaction failed: %s", exc)
        if isinstance(exc, psycopg.OperationalError):  # down, or the connection lost: nothing committed
            return StorageUnavailable(f"PostgreSQL: {exc}")
        return exc

    def _write_retrying(self, batch: list[Submission]) -> None:
        for attempt in range(RETRIES + 1):
            for item in batch:
                item.declined, item.job_error = False, None
            try:
                if self.db.closed or self.db.broken:
                    self.db = self.connect()
                self._write(batch)
                return
            except (errors.DeadlockDetected, errors.SerializationFailure):
                if attempt == RETRIES:
                    raise
                log.info("PostgreSQL round %d ran into another bridge's; running it again", attempt + 1)

    def _write(self, batch: list[Submission]) -> None:
        db = self.db
        with db.transaction():
            self._write_entities(db, batch)
            for item in batch:
                if item.job is not None:
                    self._run_job(db, item)
            rows = outbox_rows(batch)
            if rows:
                db.cursor().executemany(
                    "INSERT INTO outbox (downstream, key, payload, next_attempt, created, deliveries)"
                    " VALUES (%s, %s, %s::jsonb, %s, %s, %s)",
                    rows,
                )
            self._write_records(db, batch)
            self._mark_seen(db, batch)

    def _write_entities(self, db: Connection, batch: list[Submission]) -> None:
        idents = sorted({(w.kind, w.key) for item in batch for w in item.writes})
        if not idents:
            return
        kinds, keys = [kind for kind, _ in idents], [key for _, key in idents]
        db.execute(
            "INSERT INTO entities (kind, key) SELECT * FROM unnest(%s::text[], %s::text[])"
            " ORDER BY 1, 2 ON CONFLICT DO NOTHING",
            (kinds, keys),
        )
        stored: dict[Ident, State | None] = {
            (kind, key): None if deleted else state
            for kind, key, state, deleted in db.execute(
                "SELECT e.kind, e.key, e.state, e.deleted FROM entities e"
                " JOIN unnest(%s::text[], %s::text[]) AS t (kind, key) ON e.kind = t.kind AND e.key = t.key"
                " ORDER BY e.kind, e.key FOR UPDATE OF e",
                (kinds, keys),
            )
        }
        latest: dict[Ident, tuple[State | None, float]] = {}
        for item in batch:
            for write in item.writes:
                ident = (write.kind, write.key)
                state = write.state
                if write.change is not None:
                    state = write.change(stored.get(ident))
                    if state is None:
                        continue  # gone meanwhile, or a resend: nothing to write
                stored[ident] = state
                latest[ident] = (state, item.now)
        upserts = [(compact(s), now, kind, key) for (kind, key), (s, now) in latest.items() if s is not None]
        deletes = [(now, kind, key) for (kind, key), (s, now) in latest.items() if s is None]
        cursor = db.cursor()
        if upserts:
            cursor.executemany(
                "UPDATE entities SET state = %s::jsonb, updated = %s, deleted = FALSE,"
                " version = version + 1 WHERE kind = %s AND key = %s",
                upserts,
            )
        if deletes:
            cursor.executemany(
                "UPDATE entities SET deleted = TRUE, updated = %s, version = version + 1"
                " WHERE kind = %s AND key = %s AND state IS NOT NULL AND NOT deleted",
                deletes,
            )

    def _run_job(self, db: Connection, item: Submission) -> None:
        """A job fails on its own: a savepoint keeps its error from the requests beside it."""
        assert item.job is not None
        try:
            with db.transaction():
                item.declined = item.job(db) is False
        except psycopg.DatabaseError as exc:
            if isinstance(exc, (errors.DeadlockDetected, errors.SerializationFailure)):
                raise
            item.job_error = exc
            item.declined = True

    def _write_records(self, db: Connection, batch: list[Submission]) -> None:
        rows = [
            (r.kind, r.key, r.owner, r.created, item.now, compact(r.body))
            for item in batch
            for r in item.records
        ]
        if not rows:
            return
        cursor = db.cursor()
        cursor.executemany(
            "INSERT INTO records (kind, key, owner, created, updated, body) VALUES (%s, %s, %s, %s, %s,"
            " %s::jsonb) ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body,"
            " updated = excluded.updated, owner = excluded.owner",
            rows,
        )
        # NOTIFY is sent at commit, and not at all on rollback: a listener reads a committed record.
        notices = [
            (RECORDS_CHANNEL, f"{self.bridge_id} {r.kind} {r.key}")
            for item in batch
            for r in item.records
            if r.kind in self.broadcast
        ]
        if notices:
            cursor.executemany("SELECT pg_notify(%s, %s)", notices)

    def _mark_seen(self, db: Connection, batch: list[Submission]) -> None:
        seen = [event_id for item in batch for event_id in item.seen]
        if seen:
            db.execute("UPDATE seen_events SET committed = TRUE WHERE event_id = ANY(%s)", (seen,))
        now = time.time()
        if now - self.last_seen_prune > 60:
            db.execute("DELETE FROM seen_events WHERE seen < %s", (now - SEEN_WINDOW_SECONDS,))
            self.last_seen_prune = now
