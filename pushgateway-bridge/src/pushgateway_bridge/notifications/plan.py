"""Which channels a notification goes out on, to which address, or why it cannot: no HTTP, no storage.

- With `channel`: that channel, to `to` or the address the user set for it; `suppressed` (recorded, not
  sent) when the user turned the channel off.
- Without `channel`: every channel the user turned on, each to its address; channels turned off are
  recorded as `suppressed`, and one the bridge cannot use (no address, not configured) as `failed` with the
  reason, while the others go out. A user who set no preference at all gets the in-app (`realtime`)
  channel, which needs no address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pushgateway_bridge.notifications.config import Directory
from pushgateway_bridge.notifications.models import Channel, NotifyRequest

QUEUED = "queued"
SUPPRESSED = "suppressed"
FAILED = "failed"


class PlanError(ValueError):
    """The request cannot be delivered as asked; `field` is the body field to name in the 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    address: str  # "" for realtime and for deliveries without one
    status: str  # QUEUED, SUPPRESSED or FAILED
    error: str = ""


def preference_key(user_id: str, channel: str) -> str:
    return f"{user_id}\x1f{channel}"


def plan(
    request: NotifyRequest, preferences: Mapping[Channel, Mapping[str, Any]], directory: Directory
) -> list[Delivery]:
    """The deliveries of `request`, given the user's preferences (channel -> stored preference) and what
    this bridge has configured; PlanError when it cannot go out as asked."""
    if request.channel is not None:
        channels = [request.channel]
    else:
        chosen = sorted(preferences, key=list(Channel).index)
        channels = chosen or [Channel.realtime]
    deliveries = []
    for channel in channels:
        preference = preferences.get(channel, {})
        address = request.to if request.channel is channel and request.to else preference.get("address") or ""
        if not preference.get("enabled", True):
            deliveries.append(Delivery(channel, address, SUPPRESSED))
            continue
        problem = _problem(channel, address, directory)
        if problem is None:
            deliveries.append(Delivery(channel, address, QUEUED))
        elif request.channel is not None:
            raise PlanError(*problem)
        else:
            deliveries.append(Delivery(channel, address, FAILED, problem[1]))
    return deliveries


def _problem(channel: Channel, address: str, directory: Directory) -> tuple[str, str] | None:
    if channel is Channel.realtime:
        return None
    unconfigured = directory.unconfigured(channel)
    if unconfigured:
        return "channel", unconfigured
    if not address:
        return (
            "to",
            f"no address for {channel}: send `to`, or set the user's address with "
            "POST /api/notifications/preferences",
        )
    problem = directory.problem(channel, address)
    return ("to", problem) if problem else None
