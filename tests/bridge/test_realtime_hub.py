"""The real-time hub on its own: publishing without subscribers, a full queue, a queue of no size."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from pushgateway_bridge.notifications.realtime import Hub


def run(test: Callable[[], Any]) -> Any:
    return asyncio.run(test())


def test_hub_publish_without_subscribers_or_after_its_loop_closed_is_a_no_op() -> None:
    hub = Hub(queue_size=2)
    hub.publish("nobody", "{}")  # never subscribed: no loop yet

    async def subscribe_and_close() -> None:
        with hub.subscribe("u") as subscription:
            hub.publish("u", '{"id": 1}')
            assert await anext(subscription) == '{"id": 1}'
            assert hub.stats().connections == 1
            kept = hub.subscribe("u")  # left open while the loop ends
        assert hub.stats().by_user == {"u": 1}
        assert [text async for text in subscription] == []  # a closed subscription ends at once
        del kept

    run(subscribe_and_close)
    hub.publish("u", '{"id": 2}')  # the loop is closed: dropped, never raised
    assert hub.stats().connections == 1


def test_hub_drops_only_the_full_subscription_and_counts_it() -> None:
    hub = Hub(queue_size=2)

    async def overflow() -> None:
        slow, fast = hub.subscribe("u"), hub.subscribe("u")
        for n in range(3):
            hub.publish("u", str(n))
            assert await anext(fast) == str(n)  # delivered to both in one callback
        assert slow.overflowed and not fast.overflowed
        assert [text async for text in slow] == []  # what it held was dropped with it
        assert hub.stats() == type(hub.stats())(connections=1, by_user={"u": 1}, overflows=1)

    run(overflow)


def test_hub_refuses_a_queue_of_no_size() -> None:
    with pytest.raises(ValueError, match="queue_size must be at least 1, got 0"):
        Hub(queue_size=0)
