"""The channels' message and the one rule for which answers are retried."""

from __future__ import annotations

import httpx
import pytest

from pushgateway_bridge.channels.base import Message, retry_after_seconds


def test_a_message_refuses_an_unknown_priority_and_an_empty_one() -> None:
    with pytest.raises(ValueError, match="priority must be one of info, warning, critical"):
        Message(notification_id="n", subject="s", text="t", priority="urgent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a subject or a text"):
        Message(notification_id="n", subject="", text="")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "30"})) == 30.0
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": past})) == 0.0
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Response(503)) is None
