"""What a bridge on PostgreSQL holds besides its writer: a connection a thread, the pusher's lock, and a
listener for records other bridges commit.

Reads and the outbox's claims run on the calling thread's own autocommit connection (the event loop's, each
forwarder's), so none waits for another's query. A broken connection is dropped and made again on the next
call; the caller gets StorageUnavailable (a 503, or a forwarder step retried later).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from pushgateway_bridge.storage.base import StorageUnavailable
from pushgateway_bridge.storage.postgres_schema import PUSHER_LOCK, RECORDS_CHANNEL

log = logging.getLogger("pushgateway_bridge.storage")
Connection = psycopg.Connection[tuple[Any, ...]]


class Connections:
    def __init__(self, url: str) -> None:
        self.url = url
        self.local = threading.local()
        self.lock = threading.Lock()
        self.all: list[Connection] = []

    def connect(self, autocommit: bool = True) -> Connection:
        db = psycopg.connect(self.url, autocommit=autocommit, application_name="pushgateway-bridge")
        with self.lock:
            self.all.append(db)
        return db

    @contextmanager
    def use(self) -> Iterator[Connection]:
        """This thread's connection."""
        db: Connection | None = getattr(self.local, "db", None)
        if db is None or db.closed or db.broken:
            try:
                db = self.local.db = self.connect()
            except psycopg.OperationalError as exc:
                raise StorageUnavailable(f"PostgreSQL: {exc}") from exc
        try:
            yield db
        except psycopg.OperationalError as exc:
            self.drop(db)  # connection lost: the next call connects again
            raise StorageUnavailable(f"PostgreSQL: {exc}") from exc

    def drop(self, db: Connection) -> None:
        db.close()
        with self.lock:
            if db in self.all:
                self.all.remove(db)

    def close(self) -> None:
        with self.lock:
            for db in self.all:
                db.close()
            self.all.clear()


class PusherLock:
    """One bridge at a time does the Pushgateway work of all: the one holding a session advisory lock, which
    PostgreSQL lets go when that bridge's connection ends (it stopped, or was killed). Two pushers could
    put an older state after a newer one; one pusher reading the latest state before each push cannot."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        self.db: Connection | None = None
        self.held = False
        self.lock = threading.Lock()

    def leading(self) -> bool:
        with self.lock:
            try:
                if self.db is None or self.db.closed or self.db.broken:
                    self.db, self.held = self.connections.connect(), False
                if self.held:
                    self.db.execute("SELECT 1")  # still connected, so still held
                else:
                    row = self.db.execute("SELECT pg_try_advisory_lock(%s)", (PUSHER_LOCK,)).fetchone()
                    self.held = bool(row and row[0])
                    if self.held:
                        log.info("this bridge now does the Pushgateway work of all bridges")
            except psycopg.OperationalError as exc:
                log.warning("PostgreSQL connection of the pusher lost: %s", exc)
                if self.db is not None:
                    self.connections.drop(self.db)
                self.held = False
            return self.held


class RecordListener(threading.Thread):
    """LISTENs for records other bridges commit and calls `heard(kind, key)` for each; its own are skipped
    (the bridge that commits a record acts on it itself). Reconnects after a lost connection."""

    def __init__(self, connections: Connections, bridge_id: str, heard: Callable[[str, str], None]) -> None:
        super().__init__(name="postgres-listener", daemon=True)
        self.connections = connections
        self.bridge_id = bridge_id
        self.heard = heard
        self.stopping = threading.Event()
        self.listening = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("PostgreSQL listener lost its connection: %s", exc)
                self.stopping.wait(1.0)

    def _listen(self) -> None:
        db = self.connections.connect()
        try:
            db.execute(f"LISTEN {RECORDS_CHANNEL}")
            self.listening.set()
            while not self.stopping.is_set():
                for notice in db.notifies(timeout=0.5):
                    origin, kind, key = notice.payload.split(" ", 2)
                    if origin == self.bridge_id:
                        continue
                    try:
                        self.heard(kind, key)
                    except Exception:  # one record's trouble must not stop the listener
                        log.exception("could not act on record %s %s", kind, key)
        finally:
            self.connections.drop(db)
