"""Group commit, whatever the database: submissions queue up, one thread commits each queue-full in one
transaction, then calls `applied` (or `failed`) with the batch under `lock`, and each submission's `done`.

A failed transaction fails its submissions and every one queued behind them, since their states may
build on the failed ones. SQLite's writer (`group_commit.py`) and PostgreSQL's (`postgres_writer.py`)
differ only in how they write a batch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

log = logging.getLogger("pushgateway_bridge.storage")
Done = Callable[[BaseException | None], None]


class Queued(Protocol):
    @property
    def done(self) -> Done: ...

    @property
    def job_error(self) -> Exception | None:
        """A job that failed alone: its submission hears of it, the rest of the batch commits."""


S = TypeVar("S", bound=Queued)


class CommitQueue(Generic[S]):
    closed_error: type[Exception] = RuntimeError  # what submitting to a closed storage raises

    def __init__(
        self, lock: threading.Lock, applied: Callable[[list[S]], None], failed: Callable[[list[S]], None]
    ) -> None:
        self.lock = lock
        self.applied = applied
        self.failed = failed
        self.queue: list[S] = []
        self.seq = 0
        self.closing = False
        self.has_work = threading.Condition(lock)
        self.thread: threading.Thread | None = None

    def start(self, name: str) -> None:
        """Once the subclass is ready to write."""
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def next_seq(self) -> int:
        """Called with `lock` held."""
        if self.closing:
            raise self.closed_error("storage is closed")
        self.seq += 1
        return self.seq

    def enqueue(self, submission: S) -> None:
        """Called with `lock` held."""
        self.queue.append(submission)
        if len(self.queue) == 1:
            self.has_work.notify()

    def close(self) -> None:
        """Commit what is queued, then stop."""
        with self.lock:
            self.closing = True
            self.has_work.notify()
        if self.thread is not None:
            self.thread.join()

    def commit_batch(self, batch: list[S]) -> None:
        """Write `batch` in one transaction, or raise."""
        raise NotImplementedError

    def failure(self, exc: Exception) -> BaseException:
        """What the waiters of a failed batch are told."""
        return exc

    def _loop(self) -> None:
        while True:
            with self.lock:
                while not self.queue and not self.closing:
                    self.has_work.wait()
                if not self.queue:
                    return
                batch, self.queue = self.queue, []
            error: BaseException | None = None
            try:
                self.commit_batch(batch)
            except Exception as exc:  # every waiter must hear of it
                error = self.failure(exc)
            with self.lock:
                if error is None:
                    self.applied(batch)
                else:
                    batch.extend(self.queue)
                    self.queue = []
                    self.failed(batch)
            for item in batch:
                try:
                    item.done(error or item.job_error)
                except Exception:  # a waiter's problem (e.g. its event loop closed) must not stop the writer
                    log.exception("could not report a commit to its waiter")
