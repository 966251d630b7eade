"""Alertmanager's webhook body (version 4), as the bridge's receivers read it.

The relays (`/notify/teams`, `/notify/sms`) only pass alerts on, so they read what they show and let the
rest through. The alert receiver (`/api/alertmanager/webhook`) keeps each alert's history and tells its
user, so it needs what identifies one alert state: the fingerprint and the start, which Alertmanager
always sends (`ReceivedAlert`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from pushgateway_bridge.domain.models.fields import RFC3339, NonNegativeInt

STATUS = "^(firing|resolved)$"


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str = Field(pattern=STATUS)
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)


class _Webhook(BaseModel):
    """What a webhook body says besides its alerts."""

    model_config = ConfigDict(extra="allow")

    version: str = "4"
    status: str = Field(pattern=STATUS)
    receiver: str = ""
    groupKey: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""


class AlertmanagerWebhook(_Webhook):
    """Alertmanager's webhook body (version 4)."""

    alerts: list[WebhookAlert] = Field(min_length=1)


def parse_time(value: str) -> datetime:
    """An RFC 3339 time as Alertmanager writes it (Go's, up to nanoseconds: Python keeps microseconds)."""
    return datetime.fromisoformat(value.upper())


def _alert_time(value: str) -> str:
    if not RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 datetime with a time zone (e.g. 2024-01-15T01:00:00Z)")
    try:
        parse_time(value)
    except ValueError as exc:
        raise ValueError(f"not a valid time: {exc}") from None
    return value


# Kept as sent: the text is part of the alert's identity (`startsAt`) and the templates print it.
AlertTime = Annotated[
    str, AfterValidator(_alert_time), WithJsonSchema({"type": "string", "format": "date-time"})
]


class ReceivedAlert(WebhookAlert):
    """One alert as Alertmanager sends it. For a firing alert `endsAt` is Go's zero time or when it would
    time out; for a resolved one, when it ended."""

    startsAt: AlertTime
    endsAt: AlertTime
    generatorURL: Annotated[str, Field(max_length=4000)] = ""
    fingerprint: Annotated[
        str, Field(pattern="^[0-9a-f]{16}$", description="Alertmanager's hash of the alert's labels")
    ]


class ReceivedWebhook(_Webhook):
    """Alertmanager's webhook body (version 4), each alert with its fingerprint and times."""

    alerts: list[ReceivedAlert] = Field(min_length=1)
    truncatedAlerts: Annotated[NonNegativeInt, Field(description="alerts left out by `max_alerts`")] = 0
