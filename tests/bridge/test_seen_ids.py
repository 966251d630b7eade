"""Client event ids: a resend is recognised from the seen_events table, before and after a restart, and
only the ids of submissions not yet committed are held in memory."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from pushgateway_bridge.storage.group_commit import Waiter
from pushgateway_bridge.storage.sqlite import SQLiteStorage


def committed(storage: SQLiteStorage, ids: list[str]) -> None:
    waiter = Waiter()
    storage.submit([], [], waiter.done, ids)
    waiter.wait()


def test_a_committed_id_is_a_resend_and_is_not_held_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "bridge.sqlite3"
    storage = SQLiteStorage(path, 1000)
    ids = [str(uuid4()) for _ in range(5000)]
    assert storage.claim(ids) == [True] * len(ids)
    assert storage.claim(ids[:3]) == [False] * 3  # claimed by a submission not committed yet
    committed(storage, ids)
    assert storage.claimed == {}
    assert storage.claim(ids) == [False] * len(ids)
    assert storage.claimed == {}
    storage.close()

    reopened = SQLiteStorage(path, 1000)
    assert reopened.claim([ids[0], ids[-1]]) == [False, False]
    fresh = str(uuid4())
    assert reopened.claim([fresh, ids[1], fresh]) == [True, False, False]
    reopened.close()


def test_a_released_id_is_new_again(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "bridge.sqlite3", 1000)
    event_id = str(uuid4())
    assert storage.claim([event_id]) == [True]
    storage.release([event_id])
    assert storage.claim([event_id]) == [True]
    committed(storage, [event_id])
    assert storage.claim([event_id]) == [False]
    storage.close()
