"""Which accepted requests raise or resolve an alert, and what the alert says.

An alert is neutral, as an event is: `sinks/alertmanager.py` makes Alertmanager's v2 body of it.
"""

from __future__ import annotations

from typing import TypedDict

from pushgateway_bridge.domain.kinds import SidecarJobState
from pushgateway_bridge.domain.models.climate import AlertReport
from pushgateway_bridge.domain.models.sidecar import EventKind, SidecarEvent


class Alert(TypedDict):
    name: str  # the alertname
    labels: dict[str, str]
    summary: str
    description: str
    starts: float  # Unix seconds
    # Ahead of `starts`, so the alert resolves by itself unless raised again; `starts` resolves it now.
    ends: float


def service_alert(body: AlertReport, now: float, resolve_after: float) -> Alert:
    """`POST /alerts/` raises ServiceAlert, as the service worded it."""
    return {
        "name": "ServiceAlert",
        "labels": {"service": body.service, "severity": body.severity.value},
        "summary": body.title,
        "description": body.message,
        "starts": now,
        "ends": now + resolve_after,
    }


def sidecar_job(
    event: SidecarEvent, previous: SidecarJobState | None, now: float, resolve_after: float
) -> Alert | None:
    """A failed run raises SidecarJobFailed; the next finished run resolves it. Other events: none."""
    failed = event.kind is EventKind.failed
    recovered = (
        event.kind is EventKind.finished and previous is not None and previous.get("status") == "failed"
    )
    if not failed and not recovered:
        return None
    metadata = event.metadata or {}
    return {
        "name": "SidecarJobFailed",
        "labels": {
            "site": event.site_id,
            "app": event.app.name,
            "entity_type": event.entity_type,
            "business_key": event.business_key,
            "severity": "warning",
        },
        "summary": f"{event.app.name} {event.entity_type} {event.business_key} failed",
        "description": str(event.message or metadata.get("error_message") or "job failed"),
        "starts": now,
        "ends": now + resolve_after if failed else now,
    }
