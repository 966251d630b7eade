"""notifications.yml as the bridge loads it: every reference checked, the first bad key named in a
ConfigError, secrets read from their files, escalation policies chosen by priority and user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pushgateway_bridge.configfile import ConfigError
from pushgateway_bridge.notifications.config import (
    NotificationsConfig,
    check_secrets,
    load_notifications,
    read_secret,
)
from pushgateway_bridge.notifications.models import Channel, Priority


def full_config(secrets: Path) -> dict[str, Any]:
    return {
        "channels": {
            "email": {
                "host": "127.0.0.1",
                "port": 587,
                "security": "starttls",
                "from_address": "bridge@example.com",
                "username": "bridge",
                "password_file": str(secrets / "smtp"),
            },
            "slack": {
                "webhook_url_files": {"ops": str(secrets / "slack_ops")},
                "bot_token_file": str(secrets / "bot"),
            },
            "teams": {"url_files": {"ops": str(secrets / "teams_ops")}},
            "sms": {
                "account_sid": "AC0123",
                "auth_token_file": str(secrets / "twilio"),
                "from_number": "+15550100",
            },
            "webhooks": {
                "ticketing": {"url": "http://127.0.0.1:9/hook", "secret_file": str(secrets / "hmac")}
            },
        },
        "templates": {"hello": {"subject": "Hi {{ name }}", "text": "Welcome, {{ name }}."}},
        "escalation": [
            {
                "name": "oncall-team",
                "users": "oncall-*",
                "after_seconds": 300,
                "steps": [{"channel": "sms", "to": "+15550123"}],
            },
            {
                "name": "everyone",
                "after_seconds": 900,
                "steps": [{"channel": "slack", "to": "U0123ABCD"}, {"channel": "webhook", "to": "ticketing"}],
            },
        ],
    }


def write(tmp_path: Path, config: Any) -> Path:
    path = tmp_path / "notifications.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_full_config_loads_with_its_channels_targets_and_templates(tmp_path: Path) -> None:
    config = load_notifications(write(tmp_path, full_config(tmp_path)))
    directory = config.channels.directory()
    assert directory.channels == set(Channel)
    assert directory.targets == {
        Channel.slack: {"ops"},
        Channel.teams: {"ops"},
        Channel.webhook: {"ticketing"},
    }
    assert config.channels.sms is not None
    assert (config.channels.sms.base_url, config.channels.sms.max_length) == ("https://api.twilio.com", 480)
    assert config.renderer.render("hello", {"name": "Ada"}) == ("Hi Ada", "Welcome, Ada.")
    assert "alert_firing" in config.renderer.names()


def test_the_first_policy_for_the_priority_and_user_applies(tmp_path: Path) -> None:
    config = NotificationsConfig.model_validate(full_config(tmp_path))
    first = config.policy_for(Priority.critical, "oncall-anna")
    assert first is not None
    assert first.name == "oncall-team"
    second = config.policy_for(Priority.critical, "user123")
    assert second is not None
    assert (second.name, second.after_seconds) == ("everyone", 900)
    assert config.policy_for(Priority.warning, "oncall-anna") is None


@pytest.mark.parametrize(
    ("channel", "to", "problem"),
    [
        (Channel.webhook, "ticketing", None),
        (
            Channel.webhook,
            "https://evil.example/collect",
            "must be the name of a configured webhook target, never a URL",
        ),
        (Channel.webhook, "pager", "no webhook target named 'pager' (configured: ticketing)"),
        (Channel.teams, "sales", "no teams target named 'sales' (configured: ops)"),
        (Channel.slack, "ops", None),
        (Channel.slack, "C0123ABCD", None),
        (Channel.email, "ada@example.com", None),
        (Channel.email, "ada", "must be an email address"),
        (Channel.sms, "+15550123", None),
        (Channel.realtime, "user123", "the realtime channel takes no address"),
    ],
)
def test_what_a_to_may_name(tmp_path: Path, channel: Channel, to: str, problem: str | None) -> None:
    directory = NotificationsConfig.model_validate(full_config(tmp_path)).channels.directory()
    assert directory.problem(channel, to) == problem


def test_a_channel_that_is_not_configured_is_named_with_its_key() -> None:
    directory = NotificationsConfig.model_validate({}).channels.directory()
    assert directory.channels == {Channel.realtime}
    assert directory.problem(Channel.webhook, "ticketing") == (
        "webhook is not configured (monitoring.yml notifications.channels.webhooks)"
    )
    assert directory.problem(Channel.sms, "+15550123") == (
        "sms is not configured (monitoring.yml notifications.channels.sms)"
    )


def without_bot(config: dict[str, Any]) -> None:
    del config["channels"]["slack"]["bot_token_file"]


def step_to_unknown_target(config: dict[str, Any]) -> None:
    config["escalation"][1]["steps"][1]["to"] = "pager"


def evil_template(config: dict[str, Any]) -> None:
    config["templates"]["hello"]["text"] = "{{ name.__class__ }}"


def email_without_password(config: dict[str, Any]) -> None:
    del config["channels"]["email"]["password_file"]


def inline_secret(config: dict[str, Any]) -> None:
    config["channels"]["sms"]["auth_token"] = "secret"


def bad_number(config: dict[str, Any]) -> None:
    config["channels"]["sms"]["from_number"] = "5550100"


def duplicate_policy(config: dict[str, Any]) -> None:
    config["escalation"][1]["name"] = "oncall-team"


BAD = [
    (without_bot, "", "escalation[1].steps[0].to: a Slack user or channel id needs the bot's bot_token_file"),
    (
        step_to_unknown_target,
        "",
        "escalation[1].steps[1].to: no webhook target named 'pager' (configured: ticketing)",
    ),
    (duplicate_policy, "", "escalation: two policies named 'oncall-team'"),
    (evil_template, "templates", "hello: text: refused: '__class__' reaches Python internals"),
    (email_without_password, "channels.email", "password_file: required when a username is set"),
    (inline_secret, "channels.sms.auth_token", "Extra inputs are not permitted"),
    (bad_number, "channels.sms.from_number", "String should match pattern"),
]


@pytest.mark.parametrize(("change", "where", "reason"), BAD, ids=[reason for _, _, reason in BAD])
def test_a_bad_file_is_a_config_error_naming_the_file_and_key(
    tmp_path: Path, change: Any, where: str, reason: str
) -> None:
    config = full_config(tmp_path)
    change(config)
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as raised:
        load_notifications(path)
    assert raised.value.key == (f"{path}: {where}" if where else str(path))
    assert raised.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "cannot read"),
        ("channels: [\n", "is not valid YAML"),
        ("- channels\n", "must hold a mapping"),
    ],
)
def test_an_unreadable_file_is_a_config_error_naming_the_setting(
    tmp_path: Path, text: str | None, reason: str
) -> None:
    path = tmp_path / "notifications.yml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_notifications(path)
    assert raised.value.key == "notifications_file"
    assert reason in raised.value.reason
    assert str(path) in raised.value.reason


def test_secrets_are_read_from_their_files_and_a_missing_one_is_named(tmp_path: Path) -> None:
    config = NotificationsConfig.model_validate(full_config(tmp_path))
    for name in ("smtp", "slack_ops", "bot", "teams_ops", "twilio"):
        (tmp_path / name).write_text(f"{name}-value\n")
    with pytest.raises(ConfigError) as raised:
        check_secrets(config)
    assert raised.value.key == "channels.webhooks.ticketing.secret_file"
    assert raised.value.reason.startswith(f"cannot read {tmp_path / 'hmac'}")
    (tmp_path / "hmac").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        check_secrets(config)
    (tmp_path / "hmac").write_text("k3y\n")
    check_secrets(config)
    assert read_secret(tmp_path / "hmac", "channels.webhooks.ticketing.secret_file") == "k3y"
