"""`alertmanager:`: receivers (secrets only as files), routes, inhibitions and mute intervals."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from generator.source.fields import Duration, LabelName, Matcher, Strict

# The receiver `make rules` adds for the bridge's alert receiver (history and in-app notifications).
BRIDGE_RECEIVER = "bridge-notifications"


class Smtp(Strict):
    smarthost: Annotated[str, Field(pattern=r"^[^:\s]+:\d+$")]
    from_: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")
    require_tls: bool = True
    auth_username: str = ""
    auth_password_file: str | None = None


class EmailTarget(Strict):
    to: str


class SlackTarget(Strict):
    channel: str
    api_url_file: str


class RelayTarget(Strict):
    target: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class WebhookTarget(Strict):
    url: Annotated[str, Field(pattern=r"^https?://[^\s?#]+$")]
    credentials_file: str | None = None


class Receiver(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
    email: EmailTarget | None = None
    slack: SlackTarget | None = None
    teams: RelayTarget | None = None
    sms: RelayTarget | None = None
    webhook: WebhookTarget | None = None


class Route(Strict):
    matchers: Annotated[list[Matcher], Field(min_length=1)]
    receiver: str
    continue_: bool = Field(default=False, alias="continue")
    mute_time_intervals: list[str] = []


class RouteRoot(Strict):
    receiver: str
    routes: list[Route]


class Inhibit(Strict):
    source: list[Matcher]
    target: list[Matcher]
    equal: list[LabelName]


class TimeRange(Strict):
    start: Annotated[str, Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]
    end: Annotated[str, Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class MuteInterval(Strict):
    name: str
    location: str = "UTC"
    weekdays: list[Weekday] = []
    times: list[TimeRange] = []


class AlertmanagerSource(Strict):
    resolve_timeout: Duration
    group_by: list[LabelName]
    group_wait: Duration
    group_interval: Duration
    repeat_interval: Duration
    smtp: Smtp
    receivers: list[Receiver]
    route: RouteRoot
    inhibit: list[Inhibit] = []
    mute_time_intervals: list[MuteInterval] = []

    @model_validator(mode="after")
    def _references(self) -> AlertmanagerSource:
        names = [receiver.name for receiver in self.receivers]
        if BRIDGE_RECEIVER in names:
            raise ValueError(
                f"receivers: {BRIDGE_RECEIVER!r} is the bridge's receiver, which `make rules` adds: "
                "choose another name"
            )
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"receivers: duplicate name {duplicates[0]!r}")
        intervals = {interval.name for interval in self.mute_time_intervals}
        if self.route.receiver not in names:
            raise ValueError(f"route.receiver: no receiver named {self.route.receiver!r}")
        for index, route in enumerate(self.route.routes):
            if route.receiver not in names:
                raise ValueError(f"route.routes[{index}].receiver: no receiver named {route.receiver!r}")
            for interval in route.mute_time_intervals:
                if interval not in intervals:
                    raise ValueError(
                        f"route.routes[{index}].mute_time_intervals: no interval named {interval!r}"
                    )
        return self
