"""Request bodies of the System Service's notification API, as its seed documents them, plus what users need
next (`template`, `data`, `priority`, a preference's `address`). Every rule is in the published schema; the
one that needs the configuration (a webhook target's name exists) is checked by the service."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

# A user id as the seed's clients send it ("user123"): printable, no separators that would read as paths.
UserId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:+-]*$")]
TargetName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Slack member, channel or group ids (U..., W..., C..., G..., D...), or a named incoming webhook.
SLACK_ID = re.compile(r"[UWCGD][A-Z0-9]{2,20}")
TARGET = re.compile(r"[a-z0-9][a-z0-9_-]*")


class Channel(StrEnum):
    email = "email"
    slack = "slack"
    teams = "teams"
    sms = "sms"
    webhook = "webhook"
    realtime = "realtime"


class Priority(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


# What `to` (and a preference's `address`) must look like per channel, and how the 422 says it.
ADDRESSES: dict[Channel, tuple[re.Pattern[str], str]] = {
    Channel.email: (EMAIL, "an email address"),
    Channel.sms: (E164, "a phone number in E.164 form (+15550100)"),
    Channel.slack: (re.compile(f"{SLACK_ID.pattern}|{TARGET.pattern}"), "a Slack user or channel id"),
    Channel.teams: (TARGET, "the name of a configured Teams target"),
    Channel.webhook: (TARGET, "the name of a configured webhook target, never a URL"),
}


def address_problem(channel: Channel, address: str) -> str | None:
    """Why `address` cannot be used on `channel`, or None."""
    if channel is Channel.realtime:
        return "the realtime channel takes no address"
    pattern, what = ADDRESSES[channel]
    return None if pattern.fullmatch(address) else f"must be {what}"


class NotifyRequest(BaseModel):
    """`POST /api/notifications/notify`. Without `channel`: every channel the user has enabled."""

    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    type: Annotated[str, Field(max_length=100, description="the seed's free-form kind, kept in history")] = ""
    channel: Channel | None = None
    subject: Annotated[str, Field(max_length=500)] = ""
    message: Annotated[str, Field(max_length=20_000)] = ""
    to: Annotated[str, Field(min_length=1, max_length=320)] | None = None
    template: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)] | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="values for the template")
    priority: Priority = Priority.info

    @model_validator(mode="after")
    def _content_and_address(self) -> Self:
        if self.template is None and not (self.subject or self.message):
            raise ValueError("message: give a subject, a message or a template")
        if self.to is not None and self.channel is None:
            raise ValueError("to: an address needs its channel")
        if self.to is not None and self.channel is not None:
            problem = address_problem(self.channel, self.to)
            if problem:
                raise ValueError(f"to: {problem}")
        return self


class PreferenceRequest(BaseModel):
    """`POST /api/notifications/preferences`: one channel of one user on or off, and where to reach them."""

    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    channel: Channel
    enabled: Annotated[bool, Strict()]
    address: Annotated[str, Field(min_length=1, max_length=320)] | None = None

    @model_validator(mode="after")
    def _address(self) -> Self:
        if self.address is not None:
            problem = address_problem(self.channel, self.address)
            if problem:
                raise ValueError(f"address: {problem}")
        return self
