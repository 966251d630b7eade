"""Every entity's state in memory (one per scheduler, service, pipeline and job), so a request costs no read.

Writes are "staged" from submission until their transaction commits: `get` returns them, so the next
request for the same entity builds on them, while the pusher, `entities` and `dirty` see committed state
only. Which groups still need a push is kept here too: after a restart every group is pushed once, which
also repairs a Pushgateway that lost data meanwhile. Callers hold the storage's lock, except for `get`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from pushgateway_bridge.domain.kinds import State
from pushgateway_bridge.storage.base import EntityWrite

Ident = tuple[str, str]


class EntityCache:
    def __init__(self, rows: Iterable[tuple[str, str, str, float, int]]) -> None:
        """`rows`: (kind, key, state JSON, updated, deleted) as stored."""
        self.states: dict[Ident, State] = {}
        self.updated: dict[Ident, float] = {}
        self.version: dict[Ident, int] = {}
        self.pushed: dict[Ident, int] = {}
        self.deleted: dict[Ident, State] = {}  # tombstones: groups still to delete from Pushgateway
        self.staged: dict[Ident, tuple[State | None, int]] = {}  # uncommitted writes: (state, seq)
        for kind, key, state, updated, deleted in rows:
            if deleted:
                self.deleted[(kind, key)] = json.loads(state)
            else:
                self.states[(kind, key)] = json.loads(state)
                self.updated[(kind, key)] = updated
                self.version[(kind, key)] = 1

    def get(self, kind: str, key: str) -> State | None:
        """The latest state, staged writes included. Lock-free: `applied` updates `states` before it
        unstages, so a reader never sees an older state."""
        ident = (kind, key)
        staged = self.staged.get(ident)
        if staged is not None:
            return staged[0]
        return self.states.get(ident)

    def entities(self, kind: str) -> dict[str, State]:
        return {key: state for (k, key), state in self.states.items() if k == kind}

    def stage(self, writes: Sequence[EntityWrite], seq: int) -> None:
        for write in writes:
            self.staged[(write.kind, write.key)] = (write.state, seq)

    def applied(self, writes: Sequence[EntityWrite], seq: int, now: float) -> None:
        """The writes of submission `seq` are committed."""
        for write in writes:
            ident = (write.kind, write.key)
            if write.state is None:
                previous = self.states.pop(ident, None)
                if previous is not None:
                    self.deleted[ident] = previous
                self.updated.pop(ident, None)
                self.version.pop(ident, None)
                self.pushed.pop(ident, None)
            else:
                self.deleted.pop(ident, None)
                self.states[ident] = write.state
                self.updated[ident] = now
                self.version[ident] = self.version.get(ident, 0) + 1
            staged = self.staged.get(ident)
            if staged is not None and staged[1] == seq:
                del self.staged[ident]

    def drop_staged(self) -> None:
        """A transaction failed: nothing staged will ever commit."""
        self.staged.clear()

    def dirty(self) -> list[tuple[str, str, int]]:
        return [
            (kind, key, version)
            for (kind, key), version in self.version.items()
            if self.pushed.get((kind, key)) != version
        ]

    def snapshot(self, kind: str, key: str) -> State | None:
        return self.states.get((kind, key))

    def mark_pushed(self, kind: str, key: str, version: int) -> None:
        if (kind, key) in self.version:
            self.pushed[(kind, key)] = version

    def mark_all_dirty(self) -> None:
        self.pushed.clear()

    def tombstones(self) -> list[tuple[str, str, State]]:
        return [(kind, key, state) for (kind, key), state in self.deleted.items()]

    def silent(self, kind: str, older_than: float) -> list[tuple[str, State]]:
        """Entities of `kind` not written since `older_than`; one with a write in flight is not silent."""
        return [
            (key, self.states[(k, key)])
            for (k, key), updated in self.updated.items()
            if k == kind and updated < older_than and (k, key) not in self.staged
        ]
