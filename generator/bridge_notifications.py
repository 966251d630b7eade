"""pushgateway-bridge/notifications.yml from `notifications:` (and `alertmanager.smtp` for email): the
channels, templates and escalation policies of the bridge's notification API, in the shape
`pushgateway_bridge.notifications.config` loads. Without a `notifications:` section it is empty: only
the predefined templates and the in-app channel.

Email is `alertmanager.smtp` read as Alertmanager reads it, so alerts and notifications leave through the
same server the same way: port 465 is implicit TLS, otherwise `require_tls` means STARTTLS, otherwise
plain SMTP. Durations become seconds; a default left out here is the bridge's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator.source.alertmanager import Smtp
from generator.source.fields import seconds
from generator.source.notifications import Channels, Notifications

if TYPE_CHECKING:
    from generator.source import Source

PATH = "pushgateway-bridge/notifications.yml"
IMPLICIT_TLS_PORT = 465  # Alertmanager dials TLS on this port only


def _email(smtp: Smtp, password_file: str | None, timeout: str | None) -> dict[str, Any]:
    host, _, port = smtp.smarthost.rpartition(":")
    security = "starttls" if smtp.require_tls else "none"
    if int(port) == IMPLICIT_TLS_PORT:
        security = "tls"
    email: dict[str, Any] = {"host": host, "port": int(port), "security": security}
    email["from_address"] = smtp.from_
    if smtp.auth_username:
        email.update(username=smtp.auth_username, password_file=password_file)
    if timeout:
        email["timeout_seconds"] = seconds(timeout)
    return email


def _channels(channels: Channels, smtp: Smtp) -> dict[str, Any]:
    built: dict[str, Any] = {}
    if channels.email:
        built["email"] = _email(smtp, channels.email.password_file, channels.email.timeout)
    if channels.slack:
        slack = channels.slack
        built["slack"] = {"webhook_url_files": dict(slack.webhook_url_files)}
        if slack.bot_token_file:
            built["slack"]["bot_token_file"] = slack.bot_token_file
        if slack.api_url:
            built["slack"]["api_url"] = slack.api_url
    if channels.teams:
        built["teams"] = {"url_files": dict(channels.teams.url_files)}
    if channels.sms:
        sms = channels.sms
        built["sms"] = {"base_url": sms.base_url} if sms.base_url else {}
        built["sms"].update(
            account_sid=sms.account_sid, auth_token_file=sms.auth_token_file, from_number=sms.from_
        )
        if sms.max_length:
            built["sms"]["max_length"] = sms.max_length
    webhooks: dict[str, Any] = {}
    for target in channels.webhooks:
        webhooks[target.name] = {"url": target.url, "secret_file": target.secret_file}
        if target.timeout:
            webhooks[target.name]["timeout_seconds"] = seconds(target.timeout)
    if webhooks:
        built["webhooks"] = webhooks
    return built


def render(source: Source) -> dict[str, Any]:
    notifications = source.notifications or Notifications()
    return {
        "channels": _channels(notifications.channels, source.alertmanager.smtp),
        "templates": {
            name: {"subject": template.subject, "text": template.text}
            for name, template in notifications.templates.items()
        },
        "escalation": [
            {
                "name": policy.name,
                "priority": policy.priority,
                "users": policy.users,
                "after_seconds": seconds(policy.after),
                "steps": [{"channel": step.channel.value, "to": step.to} for step in policy.steps],
            }
            for policy in notifications.escalation
        ],
    }
