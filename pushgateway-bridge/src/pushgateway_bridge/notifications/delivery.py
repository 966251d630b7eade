"""Sending one delivery of a notification through its channel, and recording how it went.

The outbox hands over `{"id", "delivery"}`; the notification record holds the rest. A success marks the
delivery `sent`; a failure counts the attempt and keeps the error where a person can see it, then raises
for the forwarder, which retries transient errors with backoff and dead-letters permanent ones (the
delivery is then `failed`). Channels are opened from notifications.yml on first use, secrets read then.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pushgateway_bridge.channels.base import Channel as Transport
from pushgateway_bridge.channels.base import Message, TransportError
from pushgateway_bridge.channels.email import EmailChannel
from pushgateway_bridge.channels.slack import SlackBotChannel, SlackWebhookChannel
from pushgateway_bridge.channels.sms import SmsChannel
from pushgateway_bridge.channels.teams import TeamsChannel
from pushgateway_bridge.channels.webhook import WebhookChannel, WebhookTarget
from pushgateway_bridge.notifications.config import ChannelSettings, read_secret
from pushgateway_bridge.notifications.escalation import ESCALATED
from pushgateway_bridge.notifications.models import Channel
from pushgateway_bridge.notifications.service import NOTIFICATION, SENT, summarize
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.storage.base import Storage
from pushgateway_bridge.storage.records import Body

FAILED = "failed"


class SlackChannel:
    """A configured webhook by its name, else the bot to a user or channel id."""

    name = "slack"

    def __init__(self, webhooks: SlackWebhookChannel | None, bot: SlackBotChannel | None) -> None:
        self.webhooks, self.bot = webhooks, bot

    def send(self, message: Message, address: str) -> None:
        if self.webhooks is not None and address in self.webhooks.webhooks:
            self.webhooks.send(message, address)
        elif self.bot is not None:
            self.bot.send(message, address)
        else:
            raise TransportError(f"slack: no webhook named {address!r} and no bot token", permanent=True)

    def close(self) -> None:
        for channel in (self.webhooks, self.bot):
            if channel is not None:
                channel.close()


def open_channel(settings: ChannelSettings, channel: Channel) -> Transport:
    """The transport of `channel`, its secrets read now (so a rotated secret is read on the next open)."""
    key = f"notifications.channels.{channel.value}"
    if channel is Channel.email and settings.email:
        email = settings.email
        password = read_secret(email.password_file, f"{key}.password_file") if email.password_file else None
        return EmailChannel(
            host=email.host,
            port=email.port,
            from_address=email.from_address,
            security=email.security,
            username=email.username,
            password=password,
            timeout=email.timeout_seconds,
        )
    if channel is Channel.slack and settings.slack:
        slack = settings.slack
        urls = {
            name: read_secret(path, f"{key}.webhook_url_files.{name}")
            for name, path in slack.webhook_url_files.items()
        }
        bot = (
            SlackBotChannel(read_secret(slack.bot_token_file, f"{key}.bot_token_file"), api_url=slack.api_url)
            if slack.bot_token_file
            else None
        )
        return SlackChannel(SlackWebhookChannel(urls) if urls else None, bot)
    if channel is Channel.teams and settings.teams:
        urls = {
            name: read_secret(path, f"{key}.url_files.{name}")
            for name, path in settings.teams.url_files.items()
        }
        return TeamsChannel(urls)
    if channel is Channel.sms and settings.sms:
        sms = settings.sms
        return SmsChannel(
            account_sid=sms.account_sid,
            auth_token=read_secret(sms.auth_token_file, f"{key}.auth_token_file"),
            from_number=sms.from_number,
            base_url=sms.base_url,
            max_length=sms.max_length,
        )
    if channel is Channel.webhook and settings.webhooks:
        targets = {
            name: WebhookTarget(
                hook.url, read_secret(hook.secret_file, f"{key}.{name}.secret_file"), hook.timeout_seconds
            )
            for name, hook in settings.webhooks.items()
        }
        return WebhookChannel(targets)
    raise SinkError(f"{channel} is no longer configured", permanent=True, kind="config")


class NotificationSink:
    """The outbox sink of downstream `notifications` (one item per send, see the forwarder's batch size)."""

    downstream = "notifications"

    def __init__(
        self,
        storage: Storage,
        settings: ChannelSettings,
        opener: Callable[[ChannelSettings, Channel], Transport] = open_channel,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.opener = opener
        self.clock = clock
        self.open: dict[Channel, Transport] = {}

    def send(self, payloads: Sequence[Mapping[str, Any]]) -> None:
        for payload in payloads:
            self._send_one(str(payload["id"]), str(payload["delivery"]))

    def _send_one(self, notification_id: str, name: str) -> None:
        body = self.storage.record(NOTIFICATION, notification_id)
        if body is None or name not in body["deliveries"]:
            raise SinkError(
                f"notification {notification_id} has no delivery {name!r}", permanent=True, kind="config"
            )
        delivery = body["deliveries"][name]
        if delivery.get("sent_at") is not None:
            return  # sent before a restart took away the outbox's record of it (and maybe escalated since)
        channel = Channel(delivery["channel"])
        message = Message(
            notification_id=notification_id,
            subject=body["subject"],
            text=body["message"],
            priority=body["priority"],
            user_id=body["user_id"],
            data=body.get("data") or {},
        )
        try:
            transport = self.open.get(channel) or self.open.setdefault(
                channel, self.opener(self.settings, channel)
            )
            transport.send(message, delivery["address"])
        except SinkError as exc:
            self._record(notification_id, name, status=FAILED if exc.permanent else None, error=exc.message)
            raise
        self._record(notification_id, name, status=SENT, error=None)

    def _record(self, notification_id: str, name: str, *, status: str | None, error: str | None) -> None:
        now = self.clock()

        def change(body: Body) -> Body:
            delivery = body["deliveries"][name]
            delivery["attempts"] = delivery.get("attempts", 0) + 1
            delivery["last_error"] = error
            delivery["updated_at"] = now
            if status is not None and not (status == SENT and delivery["status"] == ESCALATED):
                delivery["status"] = status  # one escalated while queued stays so; sent_at says it went
            if status == SENT:
                delivery["sent_at"] = now
            return summarize(body)

        self.storage.update_record(NOTIFICATION, notification_id, change)

    def close(self) -> None:
        for transport in self.open.values():
            transport.close()
