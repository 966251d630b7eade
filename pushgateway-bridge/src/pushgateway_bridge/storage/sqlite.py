"""SQLite storage in WAL mode, with group commit.

Entity states are cached in memory (all of them: one row per scheduler, service, pipeline and job), so a
request costs no read. Writes go through one writer thread that commits whatever has queued up meanwhile in
one transaction (group commit): under load one COMMIT covers many requests, and the event loop never waits
on SQLite. Each request is told when its own transaction has committed; only then does it answer.

Until then its writes are "staged": `get` returns them, so the next request for the same entity builds on
them, while the pusher, `entities` and `dirty` see committed state only. If a transaction fails, its
requests and every request queued behind it fail (their states may build on the failed ones) and the
staged writes are dropped: nothing uncommitted is ever pushed or answered with a 2xx.

Every write (requests' and the forwarders': delivered, retried, dead-lettered) goes through that one writer
and its connection; the forwarders read the outbox through a second connection, which WAL lets run beside
the writer, so reading the next batch never waits for a commit.

Which groups still need a push is kept in memory: after a restart every group is pushed once, which also
repairs a Pushgateway that lost data meanwhile.

Client event ids (the sidecar API's event_id) are remembered for SEEN_WINDOW_SECONDS, at most SEEN_MAX of
them, in memory and in the same transaction as the event's writes: a client that resends a batch whose
answer it never got (the SDK does) is recognised, so no run is counted twice, also across a restart.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pushgateway_bridge.core.jsontext import compact
from pushgateway_bridge.domain.entities import State
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, Pending, SpoolFull

log = logging.getLogger("pushgateway_bridge.storage")
SEEN_WINDOW_SECONDS = 3600.0
SEEN_MAX = 1_000_000
Ident = tuple[str, str]
T = TypeVar("T")
Done = Callable[[BaseException | None], None]


@dataclass
class _Submitted:
    writes: Sequence[EntityWrite]
    outbox: Sequence[OutboxItem]
    now: float
    seq: int
    done: Done
    job: Callable[[sqlite3.Connection], None] | None = None  # further SQL in the same transaction
    pending_delta: int = 0  # outbox rows the job removes
    job_error: Exception | None = None  # the job failed alone (rolled back to its savepoint)
    seen: Sequence[str] = ()  # client event ids this submission claimed


SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, updated REAL NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, downstream TEXT NOT NULL, key TEXT NOT NULL,
    payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
    created REAL NOT NULL, last_error TEXT
);
-- Due items in id order: a batch walks the index and stops at the limit, whatever the backlog.
DROP INDEX IF EXISTS outbox_due;
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (downstream, id);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY, downstream TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL, created REAL NOT NULL, failed REAL NOT NULL, error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen REAL NOT NULL);
"""


class SQLiteStorage:
    def __init__(self, path: Path, spool_max_events: int, synchronous: str = "NORMAL") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.mem = threading.Lock()  # everything in memory below, and the write queue
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)  # the writer's
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(SCHEMA)
        # Rows per multi-row statement: as many as SQLite takes parameters for (32,766 since 3.32).
        self.max_params = min(30_000, self.db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        self.lock = threading.Lock()  # the reading connection
        self.reader = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.spool_max = spool_max_events
        self.cache: dict[Ident, State] = {}
        self.updated: dict[Ident, float] = {}
        self.version: dict[Ident, int] = {}
        self.pushed: dict[Ident, int] = {}
        self.deleted: dict[Ident, State] = {}
        for kind, key, state, updated, deleted in self.db.execute(
            "SELECT kind, key, state, updated, deleted FROM entities"
        ):
            if deleted:
                self.deleted[(kind, key)] = json.loads(state)
            else:
                self.cache[(kind, key)] = json.loads(state)
                self.updated[(kind, key)] = updated
                self.version[(kind, key)] = 1
        (self.pending,) = self.db.execute("SELECT count(*) FROM outbox").fetchone()
        self.db.execute("DELETE FROM seen_events WHERE seen < ?", (time.time() - SEEN_WINDOW_SECONDS,))
        self.seen: dict[str, float] = dict(
            self.db.execute("SELECT event_id, seen FROM seen_events ORDER BY seen")
        )
        self.last_seen_prune = time.time()
        self.queued_outbox = 0  # outbox items submitted, not yet committed (they count against the spool)
        self.staged: dict[Ident, tuple[State | None, int]] = {}  # uncommitted writes: (state, seq)
        self.queue: list[_Submitted] = []
        self.seq = 0
        self.closing = False
        self.has_work = threading.Condition(self.mem)
        self.writer = threading.Thread(target=self._write_loop, name="sqlite-writer", daemon=True)
        self.writer.start()

    # --- entities ---------------------------------------------------------------------------------

    def get(self, kind: str, key: str) -> State | None:
        """The latest state, including writes submitted but not yet committed."""
        ident = (kind, key)
        staged = self.staged.get(ident)  # the writer updates the cache before it unstages
        if staged is not None:
            return staged[0]
        return self.cache.get(ident)

    def entities(self, kind: str) -> dict[str, State]:
        with self.mem:
            return {key: state for (k, key), state in self.cache.items() if k == kind}

    # --- client event ids ---------------------------------------------------------------------------

    def claim(self, event_ids: Sequence[str]) -> list[bool]:
        """For each id: True if it is new (and now taken), False if it was seen before (a resend)."""
        now = time.time()
        fresh = []
        with self.mem:
            for event_id in event_ids:
                if event_id in self.seen:
                    fresh.append(False)
                else:
                    self.seen[event_id] = now
                    fresh.append(True)
            while len(self.seen) > SEEN_MAX:
                del self.seen[next(iter(self.seen))]  # the oldest: dicts keep insertion order
        return fresh

    def release(self, event_ids: Sequence[str]) -> None:
        """Forget ids claimed for a submission that was refused (SpoolFull) or failed."""
        with self.mem:
            for event_id in event_ids:
                self.seen.pop(event_id, None)

    def submit(
        self,
        writes: Sequence[EntityWrite],
        outbox: Sequence[OutboxItem],
        done: Done,
        seen: Sequence[str] = (),
    ) -> None:
        """Queue writes for the next group commit; `done(None)` is called (from the writer thread) once
        they are committed, `done(error)` if they never will be. Raises SpoolFull at once. `seen`: claimed
        client event ids, stored with the writes."""
        with self.mem:
            self._submit_locked(writes, outbox, done, seen)

    def _submit_locked(
        self,
        writes: Sequence[EntityWrite],
        outbox: Sequence[OutboxItem],
        done: Done,
        seen: Sequence[str] = (),
    ) -> None:
        if self.closing:
            raise sqlite3.ProgrammingError("storage is closed")
        queued = self.pending + self.queued_outbox
        if outbox and queued + len(outbox) > self.spool_max:
            raise SpoolFull(f"{queued} undelivered events (spool_max_events={self.spool_max})")
        self.seq += 1
        for write in writes:
            self.staged[(write.kind, write.key)] = (write.state, self.seq)
        self.queued_outbox += len(outbox)
        self.queue.append(_Submitted(writes, outbox, time.time(), self.seq, done, seen=seen))
        if len(self.queue) == 1:
            self.has_work.notify()

    def commit(self, writes: Sequence[EntityWrite], outbox: Sequence[OutboxItem]) -> None:
        """Durably apply all writes and enqueue all items, or nothing; blocks until committed."""
        waiter = _Waiter()
        self.submit(writes, outbox, waiter.done)
        waiter.wait()

    def _execute(self, job: Callable[[sqlite3.Connection], None], pending_delta: int = 0) -> None:
        """Run `job` in the writer's next transaction; block until committed."""
        waiter = _Waiter()
        with self.mem:
            if self.closing:
                raise sqlite3.ProgrammingError("storage is closed")
            self.seq += 1
            self.queue.append(_Submitted((), (), time.time(), self.seq, waiter.done, job, pending_delta))
            if len(self.queue) == 1:
                self.has_work.notify()
        waiter.wait()

    def _write_loop(self) -> None:
        while True:
            with self.mem:
                while not self.queue and not self.closing:
                    self.has_work.wait()
                if not self.queue:
                    return
                batch, self.queue = self.queue, []
            error: BaseException | None = None
            try:
                self._write(batch)
            except Exception as exc:  # every waiter must hear of it
                error = exc
            with self.mem:
                if error is None:
                    self._apply(batch)
                else:
                    batch.extend(self.queue)
                    self.queue = []
                    self.staged.clear()
                    self.queued_outbox = 0
                    for item in batch:
                        for event_id in item.seen:
                            self.seen.pop(event_id, None)
            for item in batch:
                try:
                    item.done(error or item.job_error)
                except Exception:  # a waiter's problem (e.g. its event loop closed) must not stop the writer
                    log.exception("could not report a commit to its waiter")

    def _write(self, batch: list[_Submitted]) -> None:
        """One transaction for the whole batch, in a few multi-row statements: each statement lets go of
        the GIL and then waits to get it back from the busy event loop, so their number is what costs.
        JSON text by `compact` (pydantic-core), 3x faster than json.dumps."""
        latest: dict[Ident, tuple[State | None, float]] = {}
        for item in batch:
            for write in item.writes:
                latest[(write.kind, write.key)] = (write.state, item.now)  # last write wins
        upserts = [(kind, key, compact(state), now) for (kind, key), (state, now) in latest.items() if state]
        deletes = [(now, kind, key) for (kind, key), (state, now) in latest.items() if state is None]
        rows = [
            (entry.downstream, entry.key, compact(entry.payload), item.now, item.now)
            for item in batch
            for entry in item.outbox
        ]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for entities in _chunks(upserts, self.max_params // 4):
                self.db.execute(
                    "INSERT INTO entities (kind, key, state, updated, deleted) VALUES "  # noqa: S608 (placeholders)
                    + _placeholders("(?, ?, ?, ?, 0)", len(entities))
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
            seen = [(event_id, item.now) for item in batch for event_id in item.seen]
            for ids in _chunks(seen, self.max_params // 2):
                self.db.execute(
                    "INSERT OR IGNORE INTO seen_events (event_id, seen) VALUES "  # noqa: S608 (placeholders)
                    + _placeholders("(?, ?)", len(ids)),
                    [value for row in ids for value in row],
                )
            if seen and seen[-1][1] - self.last_seen_prune > 60:
                self.db.execute(
                    "DELETE FROM seen_events WHERE seen < ?", (seen[-1][1] - SEEN_WINDOW_SECONDS,)
                )
                self.last_seen_prune = seen[-1][1]
            for items in _chunks(rows, self.max_params // 5):
                self.db.execute(
                    "INSERT INTO outbox (downstream, key, payload, next_attempt, created) VALUES "  # noqa: S608
                    + _placeholders("(?, ?, ?, ?, ?)", len(items)),
                    [value for row in items for value in row],
                )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _run_job(self, item: _Submitted) -> None:
        """A forwarder's job fails on its own: a savepoint keeps its error from the requests beside it."""
        assert item.job is not None
        self.db.execute("SAVEPOINT job")
        try:
            item.job(self.db)
        except sqlite3.Error as exc:
            self.db.execute("ROLLBACK TO job")
            item.job_error = exc
            item.pending_delta = 0
        self.db.execute("RELEASE job")

    def _apply(self, batch: list[_Submitted]) -> None:
        """Committed: into the cache (before unstaging, so `get` never sees an older state)."""
        for item in batch:
            self.pending += len(item.outbox) + item.pending_delta
            self.queued_outbox -= len(item.outbox)
            for write in item.writes:
                ident = (write.kind, write.key)
                if write.state is None:
                    previous = self.cache.pop(ident, None)
                    if previous is not None:
                        self.deleted[ident] = previous
                    self.updated.pop(ident, None)
                    self.version.pop(ident, None)
                    self.pushed.pop(ident, None)
                else:
                    self.deleted.pop(ident, None)
                    self.cache[ident] = write.state
                    self.updated[ident] = item.now
                    self.version[ident] = self.version.get(ident, 0) + 1
                staged = self.staged.get(ident)
                if staged is not None and staged[1] == item.seq:
                    del self.staged[ident]

    def dirty(self) -> list[tuple[str, str, int]]:
        with self.mem:
            return [
                (kind, key, version)
                for (kind, key), version in self.version.items()
                if self.pushed.get((kind, key)) != version
            ]

    def snapshot(self, kind: str, key: str) -> State | None:
        with self.mem:
            return self.cache.get((kind, key))

    def mark_pushed(self, kind: str, key: str, version: int) -> None:
        with self.mem:
            if (kind, key) in self.version:
                self.pushed[(kind, key)] = version

    def mark_all_dirty(self) -> None:
        with self.mem:
            self.pushed.clear()

    def tombstones(self) -> list[tuple[str, str, State]]:
        with self.mem:
            return [(kind, key, state) for (kind, key), state in self.deleted.items()]

    def forget_tombstone(self, kind: str, key: str) -> None:
        self._execute(
            lambda db: db.execute(
                "DELETE FROM entities WHERE kind = ? AND key = ? AND deleted = 1", (kind, key)
            ).close()
        )
        with self.mem:
            self.deleted.pop((kind, key), None)

    def expire(self, kind: str, older_than: float) -> list[tuple[str, State]]:
        """Turn entities of `kind` silent since `older_than` into tombstones; return them. An entity with a
        write in flight is not silent."""
        waiter = _Waiter()
        with self.mem:
            silent = [
                (key, self.cache[(k, key)])
                for (k, key), updated in self.updated.items()
                if k == kind and updated < older_than and (k, key) not in self.staged
            ]
            if not silent:
                return []
            self._submit_locked([EntityWrite(kind, key, None) for key, _ in silent], [], waiter.done)
        waiter.wait()
        return silent

    # --- outbox -----------------------------------------------------------------------------------

    def due(self, downstream: str, now: float, limit: int) -> list[Pending]:
        # One row holding a JSON array, not `limit` rows: each row fetched lets go of the GIL.
        with self.lock:
            (found,) = self.reader.execute(
                "SELECT json_group_array(json_array(id, key, json(payload), attempts, created)) FROM"
                " (SELECT * FROM outbox WHERE downstream = ? AND next_attempt <= ? ORDER BY id LIMIT ?)",
                (downstream, now, limit),
            ).fetchone()
        rows = sorted(json.loads(found))
        return [Pending(row[0], downstream, row[1], row[2], row[3], row[4]) for row in rows]

    def delivered(self, ids: Sequence[int]) -> None:
        if ids:

            def delete(db: sqlite3.Connection) -> None:
                for chunk in _chunks(list(ids), self.max_params):
                    db.execute(f"DELETE FROM outbox WHERE id IN ({_placeholders('?', len(chunk))})", chunk)  # noqa: S608

            self._execute(delete, -len(ids))

    def retry_later(self, ids: Sequence[int], next_attempt: float, error: str) -> None:
        self._execute(
            lambda db: db.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?",
                [(next_attempt, error[:2000], i) for i in ids],
            ).close()
        )

    def dead_letter(self, ids: Sequence[int], error: str) -> None:
        """Permanent failure: move the items to dead_letters, where a person can see why."""
        now = time.time()

        def move(db: sqlite3.Connection) -> None:
            for i in ids:
                db.execute(
                    "INSERT INTO dead_letters"
                    " (id, downstream, key, payload, attempts, created, failed, error)"
                    " SELECT id, downstream, key, payload, attempts + 1, created, ?, ?"
                    " FROM outbox WHERE id = ?",
                    (now, error[:2000], i),
                )
                db.execute("DELETE FROM outbox WHERE id = ?", (i,))

        self._execute(move, -len(ids))

    def dead_letters(self, downstream: str | None = None) -> list[tuple[str, str, str]]:
        with self.lock:
            rows = self.reader.execute(
                "SELECT downstream, key, error FROM dead_letters WHERE ? IS NULL OR downstream = ?",
                (downstream, downstream),
            ).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]

    def pending_stats(self) -> dict[str, tuple[int, float | None]]:
        with self.lock:
            rows = self.reader.execute(
                "SELECT downstream, count(*), min(created) FROM outbox GROUP BY downstream"
            ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    def pending_total(self) -> int:
        return int(self.pending)

    def close(self) -> None:
        """Commit what is queued, stop the writer, close the database."""
        with self.mem:
            self.closing = True
            self.has_work.notify()
        self.writer.join()
        with self.lock:
            self.reader.close()
        self.db.close()


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _placeholders(group: str, count: int) -> str:
    """`count` copies of a constant parameter group such as "(?, ?)": never any data in the SQL text."""
    return ",".join([group] * count)


class _Waiter:
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
