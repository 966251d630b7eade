"""alertmanager/alertmanager.yml from the `alertmanager` section (Alertmanager 0.25's schema).

Teams and SMS have no receiver in Alertmanager 0.25: they become webhooks to the bridge's relays
(`/notify/teams/<target>`, `/notify/sms/<target>`), which hold the real URLs and tokens. Every secret
is a `*_file` path read at notification time, never a value in this file.

Every alert also goes to the bridge's alert receiver (`BRIDGE_RECEIVER`): the alert history, and in-app
notifications for the user an alert names. Its route comes first with `continue: true` and no matchers;
the configured routes sit under a catch-all route of the default receiver after it, because a route
that matched (the bridge's) would otherwise stop the root from taking what no configured route took.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.source import MuteInterval, Receiver, Source
from generator.source.alertmanager import BRIDGE_RECEIVER

# The committed config sits beside templates/; a copy written anywhere else (make run, tests) names
# the repository's templates by their absolute path.
TEMPLATES = "templates/*.tmpl"
REPO_TEMPLATES = str(Path(__file__).resolve().parent.parent / "alertmanager" / "templates" / "*.tmpl")
TITLE = '{{ template "bundle.title" . }}'
BRIDGE_WEBHOOK_PATH = "/api/alertmanager/webhook"  # pushgateway_bridge/api/routes/alertmanager_receiver.py


def _bridge_hook(url: str, bridge_key_file: str | None) -> dict[str, Any]:
    hook: dict[str, Any] = {"url": url, "send_resolved": True}
    if bridge_key_file:  # the bridge takes its API keys as Bearer tokens too
        hook["http_config"] = {"authorization": {"credentials_file": bridge_key_file}}
    return hook


def _bridge_receiver(bridge_url: str, bridge_key_file: str | None) -> dict[str, Any]:
    return {
        "name": BRIDGE_RECEIVER,
        "webhook_configs": [_bridge_hook(f"{bridge_url}{BRIDGE_WEBHOOK_PATH}", bridge_key_file)],
    }


def _receiver(receiver: Receiver, bridge_url: str, bridge_key_file: str | None) -> dict[str, Any]:
    built: dict[str, Any] = {"name": receiver.name}
    if receiver.email:
        built["email_configs"] = [
            {
                "to": receiver.email.to,
                "send_resolved": True,
                "headers": {"Subject": TITLE},
                "html": '{{ template "bundle.email.html" . }}',
                "text": '{{ template "bundle.email.text" . }}',
            }
        ]
    if receiver.slack:
        built["slack_configs"] = [
            {
                "api_url_file": receiver.slack.api_url_file,
                "channel": receiver.slack.channel,
                "send_resolved": True,
                "title": TITLE,
                "text": '{{ template "bundle.slack.text" . }}',
            }
        ]
    webhooks: list[dict[str, Any]] = []
    hook: dict[str, Any]
    for relay, target in (("teams", receiver.teams), ("sms", receiver.sms)):
        if target:
            webhooks.append(_bridge_hook(f"{bridge_url}/notify/{relay}/{target.target}", bridge_key_file))
    if receiver.webhook:
        hook = {"url": receiver.webhook.url, "send_resolved": True}
        if receiver.webhook.credentials_file:
            hook["http_config"] = {"authorization": {"credentials_file": receiver.webhook.credentials_file}}
        webhooks.append(hook)
    if webhooks:
        built["webhook_configs"] = webhooks
    return built


def _interval(interval: MuteInterval) -> dict[str, Any]:
    spec: dict[str, Any] = {"location": interval.location}
    if interval.weekdays:
        spec["weekdays"] = list(interval.weekdays)
    if interval.times:
        spec["times"] = [{"start_time": t.start, "end_time": t.end} for t in interval.times]
    return {"name": interval.name, "time_intervals": [spec]}


def render(source: Source, templates: str = TEMPLATES) -> dict[str, Any]:
    am = source.alertmanager
    smtp = am.smtp
    global_: dict[str, Any] = {
        "resolve_timeout": am.resolve_timeout,
        "smtp_smarthost": smtp.smarthost,
        "smtp_from": smtp.from_,
        "smtp_require_tls": smtp.require_tls,
    }
    if smtp.auth_username:
        global_["smtp_auth_username"] = smtp.auth_username
        if smtp.auth_password_file:
            global_["smtp_auth_password_file"] = smtp.auth_password_file
    routes = []
    for route in am.route.routes:
        built: dict[str, Any] = {"receiver": route.receiver, "matchers": list(route.matchers)}
        if route.continue_:
            built["continue"] = True
        if route.mute_time_intervals:
            built["mute_time_intervals"] = list(route.mute_time_intervals)
        routes.append(built)
    config: dict[str, Any] = {
        "global": global_,
        "templates": [templates],
        "route": {
            "receiver": am.route.receiver,
            "group_by": list(am.group_by),
            "group_wait": am.group_wait,
            "group_interval": am.group_interval,
            "repeat_interval": am.repeat_interval,
            "routes": [
                # One group per alert ('...': all its labels): each reaches the bridge after its own
                # group_wait, not at the next group_interval of a group that fired before it.
                {"receiver": BRIDGE_RECEIVER, "group_by": ["..."], "continue": True},
                {"receiver": am.route.receiver, "routes": routes},
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": list(rule.source),
                "target_matchers": list(rule.target),
                "equal": list(rule.equal),
            }
            for rule in am.inhibit
        ],
        "receivers": [
            _bridge_receiver(source.bridge_url, source.bridge_api_key_file),
            *(
                _receiver(receiver, source.bridge_url, source.bridge_api_key_file)
                for receiver in am.receivers
            ),
        ],
    }
    if am.mute_time_intervals:
        config["time_intervals"] = [_interval(interval) for interval in am.mute_time_intervals]
    return config
