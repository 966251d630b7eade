"""The storage interface: entity state and an outbox of deliveries, committed together.

States are stored as JSON objects. Read with a kind's token (`kinds.SCHEDULER`) a state has that kind's
type; read with a plain string (as the forwarder does, for every kind alike) it is any kind's `State`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, cast, overload

from pushgateway_bridge.domain import event_batch
from pushgateway_bridge.domain.events import EVENTS
from pushgateway_bridge.domain.kinds import Kind, S, State
from pushgateway_bridge.jsontext import Encoded, compact
from pushgateway_bridge.storage.records import Body, Page, RecordWrite

# How a request's state follows from the state it read. None: write nothing (the entity is gone, or the
# request turned out to be a resend).
Change = Callable[[State | None], State | None]


class EntityWrite(NamedTuple):
    """A tuple, as OutboxItem is: a batch of events makes one for each job it touches."""

    kind: str
    key: str
    state: State | None  # None deletes the entity (its Pushgateway group is deleted next)
    # The transition that gave `state`: a backend several bridges share applies it again to the stored state
    # under the row lock, so a write another bridge committed meanwhile is built on, not lost (SQLite, the
    # one writer of its file, has read the latest state already and writes `state`).
    change: Change | None = None


def transition(kind: Kind[S], change: Callable[[S | None], S | None]) -> Change:
    """`change`, a transition of `kind`'s states, as `EntityWrite.change` holds it."""
    return cast(Change, change)


class OutboxItem(NamedTuple):
    """A tuple: a frozen dataclass's __init__ took twice as long, and requests make many."""

    downstream: str
    key: str
    # A JSON object: a neutral event, an alert, a notification; or the JSON text of a request's sidecar
    # events (domain/event_batch.py), encoded once by the route.
    payload: Mapping[str, Any] | Encoded
    deliveries: int = 1  # what it holds (a sidecar batch: its events), as the spool limit counts them


class Pending(NamedTuple):
    """An outbox row due for delivery. A tuple: a frozen dataclass's __init__ cost a microsecond a row,
    and delivery reads tens of thousands of rows a second."""

    id: int
    downstream: str
    key: str
    payload: dict[str, Any]
    attempts: int
    created: float
    deliveries: int = 1  # OutboxItem.deliveries


class Committed(Protocol):
    """A submission as a writer commits it (SQLite's and PostgreSQL's)."""

    @property
    def outbox(self) -> Sequence[OutboxItem]: ...
    @property
    def now(self) -> float: ...
    @property
    def declined(self) -> bool: ...


# downstream, key, payload (JSON text), next_attempt, created, deliveries
Row = tuple[str, str, str, float, float, int]


def outbox_rows(batch: Sequence[Committed]) -> list[Row]:
    """The outbox rows of one transaction, in order: each item's, but the neutral events that follow each
    other go as one row (domain/event_batch.py), as a sidecar request's do. A row each cost the writer
    and the delivery process more than the events' encoding."""
    rows: list[Row] = []
    events: list[Mapping[str, Any]] = []
    first: tuple[str, float] = ("", 0.0)  # the key and time of the first of `events`

    def flush() -> None:
        if events:
            text = compact(event_batch.committed(list(events)))
            rows.append((EVENTS, first[0], text, first[1], first[1], len(events)))
            events.clear()

    for item in batch:
        if item.declined:
            continue
        for entry in item.outbox:
            if entry.downstream == EVENTS and not isinstance(entry.payload, Encoded):
                if not events:
                    first = (entry.key, item.now)
                events.append(entry.payload)
                continue
            if entry.downstream == EVENTS:
                flush()  # a sidecar batch: the events before it go first
            rows.append(
                (entry.downstream, entry.key, compact(entry.payload), item.now, item.now, entry.deliveries)
            )
    flush()
    return rows


def counted(items: Sequence[OutboxItem] | Sequence[Pending]) -> int:
    """The deliveries `items` hold, as the spool limit counts them."""
    return sum(item.deliveries for item in items)


def ids_of(items: Sequence[Pending]) -> list[int]:
    return [item.id for item in items]


class SpoolFull(Exception):
    """The outbox holds spool_max_events undelivered items; the caller should answer 503."""


class StorageUnavailable(Exception):
    """The storage's server cannot be reached (PostgreSQL down, or the connection lost): nothing was
    stored; the caller should answer 503, and the client send again."""


class OutboxStore(Protocol):
    """What a forwarder delivers outbox items through: the storage, or the delivery process's own view of
    the same SQLite file (delivery/child.py)."""

    def due(self, downstream: str, now: float, limit: int) -> list[Pending]: ...

    def delivered(self, items: Sequence[Pending]) -> None: ...

    def retry_later(self, ids: Sequence[int], next_attempt: float, error: str) -> None: ...

    def dead_letter(self, items: Sequence[Pending], error: str) -> None: ...


class Storage(OutboxStore, Protocol):
    @overload
    def get(self, kind: Kind[S], key: str) -> S | None: ...
    @overload
    def get(self, kind: str, key: str) -> State | None: ...

    @overload
    def entities(self, kind: Kind[S]) -> dict[str, S]: ...
    @overload
    def entities(self, kind: str) -> dict[str, State]: ...

    def snapshot(self, kind: str, key: str) -> State | None:
        """The committed state only (what may be pushed), without writes still in flight."""

    def claim(self, event_ids: Sequence[str]) -> list[bool]:
        """For each client event id: True if new (now taken), False if already seen (a resend)."""

    def release(self, event_ids: Sequence[str]) -> None:
        """Forget claimed ids whose submission was refused."""

    def submit(
        self,
        writes: Sequence[EntityWrite],
        outbox: Sequence[OutboxItem],
        done: Callable[[BaseException | None], None],
        seen: Sequence[str] = (),
        records: Sequence[RecordWrite] = (),
    ) -> None:
        """Queue writes and items to be committed together, or not at all; `done` is called with None once
        they are durable, with the error otherwise. `get` sees the writes at once. Raises SpoolFull.
        `seen`: claimed client event ids, stored with the writes; `records`: documents to list later."""

    def commit(self, writes: Sequence[EntityWrite], outbox: Sequence[OutboxItem]) -> None:
        """`submit`, then block until committed; raises SpoolFull or the storage error."""

    def dirty(self) -> list[tuple[str, str, int]]:
        """(kind, key, version) of entities whose Pushgateway group is not up to date."""

    def mark_pushed(self, kind: str, key: str, version: int) -> None: ...

    def mark_all_dirty(self) -> None: ...

    def tombstones(self) -> list[tuple[str, str, State]]: ...

    def forget_tombstone(self, kind: str, key: str) -> None: ...

    def expire(self, kind: str, older_than: float) -> list[tuple[str, State]]: ...

    def pending_stats(self) -> dict[str, tuple[int, float | None]]:
        """downstream -> (pending count, oldest created time)."""

    def record(self, kind: str, key: str) -> Body | None:
        """A committed record (not one still in flight)."""

    def records(self, query: Page) -> list[tuple[float, str, Body]]:
        """(created, key, body) of committed records, newest first."""

    def update_record(
        self,
        kind: str,
        key: str,
        change: Callable[[Body], Body | None],
        outbox: Sequence[OutboxItem] = (),
    ) -> bool:
        """Read-modify-write of one record in one transaction; blocks until committed. `change` gets the
        stored body and returns the new one, or None to leave it. `outbox` items commit with the change,
        and not at all when there is none (no such record, or `change` returned None): False then.
        Raises SpoolFull (only with `outbox`)."""

    def dead_letters(self, downstream: str | None = None) -> list[tuple[str, str, str]]:
        """(downstream, key, error) of the items dropped after a permanent error."""

    def pending_total(self) -> int: ...

    def leading(self) -> bool:
        """Whether this bridge writes the entity series (Pushgateway or remote write). Bridges sharing a
        storage elect one: two writers could put an older state after a newer one, and interleave
        samples out of order. A bridge alone on its storage always leads."""

    def close(self) -> None: ...
