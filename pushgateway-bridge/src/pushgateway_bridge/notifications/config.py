"""notifications.yml: the channels, templates and escalation policies the notification API uses.

`make rules` renders the file from monitoring.yml's `notifications:` section (never edit it by hand);
`load_notifications` reads it, checks every reference (a step's channel is configured, its `to` names a
configured target) and compiles every template, and names the first bad key in a ConfigError. Secrets are
`*_file` paths, read by `read_secret` when a channel is opened, so a rotated token needs no restart;
`check_secrets` reads them all once, for a start-up that should refuse a missing one.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pushgateway_bridge.channels.slack import SLACK_API_URL
from pushgateway_bridge.channels.sms import MAX_BODY_CHARACTERS, TWILIO_BASE_URL
from pushgateway_bridge.configfile import ConfigError, load_yaml_mapping
from pushgateway_bridge.notifications.models import SLACK_ID, Channel, Priority, TargetName, address_problem
from pushgateway_bridge.notifications.templates import NAME_PATTERN, TemplateError, Templates, TemplateSource

HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+\S*$")]
Seconds = Annotated[float, Field(gt=0)]
TemplateName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]
NAMED_CHANNELS = (Channel.webhook, Channel.teams, Channel.slack)  # whose `to` may be a configured name
SOURCE_KEYS = {
    Channel.webhook: "webhooks"
}  # the key in monitoring.yml's notifications.channels, if not the name


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmailSettings(Frozen):
    """The SMTP server: monitoring.yml's `alertmanager.smtp`, read as Alertmanager reads it."""

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    security: Literal["none", "starttls", "tls"]
    from_address: str = Field(min_length=3)
    username: str | None = None
    password_file: Path | None = None
    timeout_seconds: Seconds = 10.0

    @model_validator(mode="after")
    def _password_with_username(self) -> EmailSettings:
        if self.username and self.password_file is None:
            raise ValueError("password_file: required when a username is set")
        return self


class SlackSettings(Frozen):
    webhook_url_files: dict[TargetName, Path] = Field(default_factory=dict)  # incoming webhooks by name
    bot_token_file: Path | None = None  # chat.postMessage to a user or channel id
    api_url: HttpUrl = SLACK_API_URL

    @model_validator(mode="after")
    def _some_way_to_send(self) -> SlackSettings:
        if not self.webhook_url_files and self.bot_token_file is None:
            raise ValueError("give webhook_url_files, bot_token_file or both")
        return self


class TeamsSettings(Frozen):
    url_files: dict[TargetName, Path] = Field(min_length=1)  # Workflows webhook URLs by name


class SmsSettings(Frozen):
    base_url: HttpUrl = TWILIO_BASE_URL
    account_sid: str = Field(pattern=r"^[A-Za-z0-9]+$")  # a path segment of the Messages URL
    auth_token_file: Path
    from_number: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")
    max_length: int = Field(default=480, gt=0, le=MAX_BODY_CHARACTERS)


class WebhookSettings(Frozen):
    url: HttpUrl
    secret_file: Path  # the HMAC-SHA256 key
    timeout_seconds: Seconds = 10.0


@dataclass(frozen=True)
class Directory:
    """What a notification's `to` may name: the configured channels and their named targets. The one rule
    for a `to`, shared by the API (a 422) and `make rules` (escalation steps in monitoring.yml)."""

    channels: frozenset[Channel]
    targets: Mapping[Channel, frozenset[str]] = field(default_factory=dict)
    slack_bot: bool = False

    @classmethod
    def of(
        cls,
        *,
        email: bool,
        sms: bool,
        slack_webhooks: Iterable[str],
        slack_bot: bool,
        teams: Iterable[str],
        webhooks: Iterable[str],
    ) -> Directory:
        targets = {
            Channel.slack: frozenset(slack_webhooks),
            Channel.teams: frozenset(teams),
            Channel.webhook: frozenset(webhooks),
        }
        present = {
            Channel.email: email,
            Channel.sms: sms,
            Channel.slack: bool(targets[Channel.slack]) or slack_bot,
            Channel.teams: bool(targets[Channel.teams]),
            Channel.webhook: bool(targets[Channel.webhook]),
            Channel.realtime: True,  # in-app: the bridge's own WebSocket, nothing to configure
        }
        return cls(frozenset(channel for channel, on in present.items() if on), targets, slack_bot)

    def unconfigured(self, channel: Channel) -> str | None:
        """Why `channel` cannot be used here at all, or None."""
        if channel in self.channels:
            return None
        key = SOURCE_KEYS.get(channel, channel.value)
        return f"{channel} is not configured (monitoring.yml notifications.channels.{key})"

    def problem(self, channel: Channel, to: str) -> str | None:
        """Why `to` cannot be used on `channel` here, or None."""
        wrong_form = address_problem(channel, to)
        if wrong_form:
            return wrong_form
        unconfigured = self.unconfigured(channel)
        if unconfigured:
            return unconfigured
        if channel not in NAMED_CHANNELS:
            return None
        names = self.targets.get(channel, frozenset())
        if to in names:
            return None
        if channel is Channel.slack and SLACK_ID.fullmatch(to):
            return None if self.slack_bot else "a Slack user or channel id needs the bot's bot_token_file"
        configured = ", ".join(sorted(names)) or "none"
        return f"no {channel} target named {to!r} (configured: {configured})"


class ChannelSettings(Frozen):
    email: EmailSettings | None = None
    slack: SlackSettings | None = None
    teams: TeamsSettings | None = None
    sms: SmsSettings | None = None
    webhooks: dict[TargetName, WebhookSettings] = Field(default_factory=dict)

    def directory(self) -> Directory:
        return Directory.of(
            email=self.email is not None,
            sms=self.sms is not None,
            slack_webhooks=self.slack.webhook_url_files if self.slack else (),
            slack_bot=bool(self.slack and self.slack.bot_token_file),
            teams=self.teams.url_files if self.teams else (),
            webhooks=self.webhooks,
        )

    def secret_files(self) -> Iterator[tuple[str, Path]]:
        """(key, path) of every secret file, the key as the loader names it."""
        if self.email and self.email.password_file:
            yield "channels.email.password_file", self.email.password_file
        if self.slack:
            for name, path in self.slack.webhook_url_files.items():
                yield f"channels.slack.webhook_url_files.{name}", path
            if self.slack.bot_token_file:
                yield "channels.slack.bot_token_file", self.slack.bot_token_file
        if self.teams:
            for name, path in self.teams.url_files.items():
                yield f"channels.teams.url_files.{name}", path
        if self.sms:
            yield "channels.sms.auth_token_file", self.sms.auth_token_file
        for name, webhook in self.webhooks.items():
            yield f"channels.webhooks.{name}.secret_file", webhook.secret_file


class EscalationStep(Frozen):
    channel: Channel
    to: str = Field(min_length=1, max_length=320)


class EscalationPolicy(Frozen):
    """A notification of `priority` to a user matching `users` (a glob) that is not acknowledged within
    `after_seconds` goes out on the next step, one step per `after_seconds`."""

    name: str = Field(min_length=1)
    priority: Priority = Priority.critical
    users: str = "*"
    after_seconds: Seconds
    steps: list[EscalationStep] = Field(min_length=1)

    def applies_to(self, priority: Priority, user_id: str) -> bool:
        return priority == self.priority and fnmatch.fnmatchcase(user_id, self.users)


Steps = Sequence[tuple[Channel, str]]  # (channel, to) of each step of a policy


def check_escalation(policies: Sequence[tuple[str, Steps]], directory: Directory) -> None:
    """ValueError naming the first policy name used twice, or step whose `to` cannot be used here: the
    one rule for `make rules` (monitoring.yml) and the bridge (notifications.yml)."""
    names = [name for name, _ in policies]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"escalation: two policies named {duplicates[0]!r}")
    for i, (_, steps) in enumerate(policies):
        for j, (channel, to) in enumerate(steps):
            problem = directory.problem(channel, to)
            if problem:
                raise ValueError(f"escalation[{i}].steps[{j}].to: {problem}")


class NotificationsConfig(Frozen):
    channels: ChannelSettings = Field(default_factory=ChannelSettings)
    templates: dict[TemplateName, TemplateSource] = Field(default_factory=dict)  # beside the predefined
    escalation: list[EscalationPolicy] = Field(default_factory=list)  # the first that applies is used

    @field_validator("templates")
    @classmethod
    def _templates_compile(cls, value: dict[str, TemplateSource]) -> dict[str, TemplateSource]:
        try:
            Templates(value)
        except TemplateError as exc:
            raise ValueError(f"{exc.template}: {exc.message}") from None
        return value

    @model_validator(mode="after")
    def _escalation_references(self) -> NotificationsConfig:
        policies = [(p.name, [(step.channel, step.to) for step in p.steps]) for p in self.escalation]
        check_escalation(policies, self.channels.directory())
        return self

    @cached_property
    def renderer(self) -> Templates:
        """The predefined and the configured templates, compiled: `renderer.render(name, data)`."""
        return Templates(self.templates)

    def policy_for(self, priority: Priority, user_id: str) -> EscalationPolicy | None:
        return next((policy for policy in self.escalation if policy.applies_to(priority, user_id)), None)


def load_notifications(path: Path) -> NotificationsConfig:
    """Read and check the rendered file; ConfigError naming the file and the first bad key."""
    loaded = load_yaml_mapping(path, "notifications_file")
    try:
        return NotificationsConfig.model_validate(loaded)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        key = f"{path}: {where}" if where else str(path)
        raise ConfigError(key, error["msg"].removeprefix("Value error, ")) from None


def read_secret(path: Path, key: str) -> str:
    """The secret in `path`, stripped; ConfigError(key) if it cannot be read or is empty."""
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    if not value:
        raise ConfigError(key, f"{path} is empty")
    return value


def check_secrets(config: NotificationsConfig) -> None:
    """ConfigError for the first secret file that cannot be read or is empty."""
    for key, path in config.channels.secret_files():
        read_secret(path, key)
