"""What the channel tests share: a message, an address nothing listens on, and the raised error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pushgateway_bridge.channels.base import Message, TransportError
from stack import free_port

MESSAGE = Message(
    notification_id="5f0c6f2e-8d1b-4c55-9a43-0b7d2c1e9f10",
    subject="Disk almost full",
    text="db-1: 95% used <of 2 TB> & rising",
    priority="critical",
    user_id="user123",
    link="https://grafana.example/d/disk?var-host=db-1&from=now-1h",
    data={"host": "db-1", "used_ratio": 0.95},
)
NOBODY = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


def raised(send: Callable[..., object], *args: object) -> TransportError:
    with pytest.raises(TransportError) as caught:
        send(*args)
    return caught.value
