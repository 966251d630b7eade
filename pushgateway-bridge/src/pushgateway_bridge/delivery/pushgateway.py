"""Pushgateway's requests made by the delivery process: its CPU (about 160 us a push through urllib3,
a fifth of the scheduler bench's requests/s) off the bridge's GIL.

The bridge's forwarder still decides what to push (it holds the entities' state) and renders it;
`ChildPushgateway` hands each step's pushes to the child in one call, and `serve` makes them there
with the same `PushgatewaySink`, each answer (its time, or the SinkError) sent back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pushgateway_bridge.delivery import messages
from pushgateway_bridge.sinks.pushgateway import Pushed, PushgatewaySink


class ChildPushgateway:
    """The forwarder's `Pushgateway`, in the delivery process: `call` is `DeliveryProcess.call`."""

    def __init__(self, call: Callable[..., Any]) -> None:
        self.call = call

    def put_all(self, pushes: Sequence[tuple[str, str]]) -> list[Pushed]:
        answers = self.call("put_all", [list(push) for push in pushes])
        return [
            Pushed(float(seconds), messages.sink_error(error) if error else None)
            for seconds, error in answers
        ]

    def delete(self, path: str) -> None:
        self.call("delete", path)

    def start_time(self) -> str:
        return str(self.call("start_time"))

    def close(self) -> None:
        return None  # the child closes its own


def serve(sink: PushgatewaySink, method: str, args: list[Any]) -> Any:
    """In the child: the call's result, JSON-ready; a SinkError raised as the sink raised it."""
    if method == "put_all":
        pushes = [(str(path), str(text)) for path, text in args[0]]
        return [
            [answer.seconds, messages.error_fields(answer.error) if answer.error else None]
            for answer in sink.put_all(pushes)
        ]
    if method == "delete":
        sink.delete(str(args[0]))
        return None
    if method == "start_time":
        return sink.start_time()
    raise ValueError(f"no such call: {method!r}")
