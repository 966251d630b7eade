"""The rendered Alertmanager config: amtool accepts it, every route is tested, inhibition works live."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakes.recorder import http_recorder
from generator.alertmanager import REPO_TEMPLATES
from generator.alertmanager import render as render_alertmanager
from generator.source import SourceError
from generator.source.alertmanager import BRIDGE_RECEIVER
from rules.sources import source_with
from stack import Stack, binary, wait_until

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "alertmanager" / "alertmanager.yml"

# (labels of an alert, receivers it must reach besides the bridge's, which every alert reaches). Every
# route in monitoring.yml has a case.
ROUTE_CASES: list[tuple[dict[str, str], list[str]]] = [
    ({"alertname": "SomethingNew", "severity": "warning"}, ["ops-email"]),
    ({"alertname": "ServiceDown", "severity": "critical", "service": "api"}, ["oncall-sms", "ops-email"]),
    (
        {"alertname": "SchedulerRunFailed", "severity": "warning", "owner_email": "o@example.com"},
        ["scheduler-owner"],
    ),
    (
        {
            "alertname": "SchedulerDeadlineMissed",
            "severity": "critical",
            "owner_email": "o@example.com",
            "team": "settlements",
        },
        ["oncall-sms", "scheduler-owner"],
    ),
    (
        {"alertname": "SchedulerDeadlineMissed", "severity": "critical", "team": "settlements"},
        ["oncall-sms", "ops-teams"],
    ),
    ({"alertname": "HostHighCpu", "severity": "warning", "instance": "h1"}, ["ops-slack"]),
    ({"alertname": "ExporterDown", "severity": "critical", "instance": "h1"}, ["oncall-sms", "ops-slack"]),
    ({"alertname": "ServiceAlert", "severity": "info", "service": "api"}, ["null"]),
    ({"alertname": "ServiceAlert", "severity": "warning", "service": "api"}, ["ops-email"]),
    ({"alertname": "BridgeBacklogGrowing", "severity": "warning"}, ["audit-webhook", "ops-slack"]),
]


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("amtool"), *args], check=False, capture_output=True, text=True, timeout=60)


def test_amtool_accepts_the_rendered_config() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "1 templates" in result.stdout  # templates/*.tmpl was found next to the config


@pytest.mark.parametrize(("labels", "receivers"), ROUTE_CASES, ids=[str(case[0]) for case in ROUTE_CASES])
def test_route(labels: dict[str, str], receivers: list[str]) -> None:
    pairs = [f"{key}={value}" for key, value in labels.items()]
    result = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"--verify.receivers={','.join([BRIDGE_RECEIVER, *receivers])}",
        *pairs,
    )
    assert result.returncode == 0, f"{labels} went to {result.stdout.strip()}, expected {receivers}"


@pytest.mark.parametrize(("labels", "receivers"), ROUTE_CASES, ids=[str(case[0]) for case in ROUTE_CASES])
def test_an_alert_made_over_the_api_is_routed_as_the_same_alert_from_monitoring_yml(
    labels: dict[str, str], receivers: list[str]
) -> None:
    """An API alert's rule carries `source="api"` and its `alert_id` besides the labels any rule has; no
    route may tell the two kinds apart."""
    api = {**labels, "source": "api", "alert_id": "0123456789abcdef"}
    result = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"--verify.receivers={','.join([BRIDGE_RECEIVER, *receivers])}",
        *(f"{key}={value}" for key, value in api.items()),
    )
    assert result.returncode == 0, f"{api} went to {result.stdout.strip()}, expected {receivers}"


def routes(route: dict[str, Any]) -> list[dict[str, Any]]:
    return [route, *(child for sub in route.get("routes", []) for child in routes(sub))]


def test_every_receiver_in_a_route_is_reached_by_a_case() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    routed = {route["receiver"] for route in routes(config["route"])}
    reached = {BRIDGE_RECEIVER} | {receiver for _, receivers in ROUTE_CASES for receiver in receivers}
    assert sorted(routed - reached) == []


def test_every_alert_also_goes_to_the_bridges_receiver_first_each_alert_its_own_group() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    first = config["route"]["routes"][0]
    assert first == {"receiver": BRIDGE_RECEIVER, "group_by": ["..."], "continue": True}  # no matchers: all
    (bridge,) = [r for r in config["receivers"] if r["name"] == BRIDGE_RECEIVER]
    assert bridge["webhook_configs"] == [
        {
            "url": "http://bridge:8000/api/alertmanager/webhook",
            "send_resolved": True,
            "http_config": {
                "authorization": {"credentials_file": "/etc/alertmanager/secrets/bridge_api_key"}
            },
        }
    ]
    # The configured routes, in order, under a catch-all of the default receiver.
    committed = yaml.safe_load((ROOT / "monitoring.yml").read_text())["alertmanager"]["route"]
    rest = config["route"]["routes"][1]
    assert rest["receiver"] == committed["receiver"] and "matchers" not in rest
    assert [r["receiver"] for r in rest["routes"]] == [r["receiver"] for r in committed["routes"]]


def test_a_receiver_named_as_the_bridges_is_refused_naming_the_key(tmp_path: Path) -> None:
    def clash(raw: dict[str, Any]) -> None:
        raw["alertmanager"]["receivers"].append({"name": BRIDGE_RECEIVER})

    with pytest.raises(SourceError) as refused:
        source_with(tmp_path, clash)
    assert str(refused.value).endswith(
        "monitoring.yml: alertmanager: receivers: 'bridge-notifications' is the bridge's receiver, which "
        "`make rules` adds: choose another name"
    )


def test_no_secret_is_written_into_the_config() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            assert "api_url" not in slack and slack["api_url_file"]
        for hook in receiver.get("webhook_configs", []):
            assert "@" not in hook["url"] and "token" not in hook["url"].lower()
    assert "smtp_auth_password" not in config["global"]


def test_teams_and_sms_go_to_the_bridge_relays() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    urls = {r["name"]: [h["url"] for h in r.get("webhook_configs", [])] for r in config["receivers"]}
    assert urls["ops-teams"] == ["http://bridge:8000/notify/teams/ops"]
    assert urls["oncall-sms"] == ["http://bridge:8000/notify/sms/oncall"]


def test_a_critical_alert_inhibits_the_matching_warning(stack: Stack) -> None:
    config = yaml.safe_load(CONFIG.read_text())
    config["templates"] = [REPO_TEMPLATES]
    alertmanager = stack.alertmanager(config)
    labels = {"alertname": "HostDiskAlmostFull", "instance": "h1", "mountpoint": "/"}
    other = {"alertname": "HostDiskAlmostFull", "instance": "h2", "mountpoint": "/"}
    alertmanager.post_alerts(
        [
            {"labels": {**labels, "severity": "critical"}},
            {"labels": {**labels, "severity": "warning"}},
            {"labels": {**other, "severity": "warning"}},
        ]
    )

    def states() -> dict[tuple[str, str], list[str]]:
        return {
            (a["labels"]["instance"], a["labels"]["severity"]): a["status"]["inhibitedBy"]
            for a in alertmanager.alerts()
        }

    result = wait_until(
        lambda: (s := states()) and len(s) == 3 and s[("h1", "warning")] and s, what="inhibition"
    )
    assert result[("h1", "critical")] == []
    assert result[("h2", "warning")] == []  # another host's warning is not silenced


def test_a_rendered_mute_interval_silences_its_route_on_a_live_alertmanager(
    stack: Stack, tmp_path: Path
) -> None:
    every_day = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    with http_recorder() as hooks:
        source = source_with(
            tmp_path,
            lambda raw: raw["alertmanager"].update(
                group_wait="1s",
                group_interval="1s",
                receivers=[
                    {"name": "muted-hook", "webhook": {"url": f"{hooks.url}/muted"}},
                    {"name": "open-hook", "webhook": {"url": f"{hooks.url}/open"}},
                ],
                route={
                    "receiver": "open-hook",
                    "routes": [
                        {
                            "matchers": ['team="muted"'],
                            "receiver": "muted-hook",
                            "mute_time_intervals": ["always"],
                        },
                        {"matchers": ['team="open"'], "receiver": "open-hook"},
                    ],
                },
                inhibit=[],
                mute_time_intervals=[
                    {
                        "name": "always",
                        "location": "Europe/London",
                        "weekdays": every_day,
                        "times": [{"start": "00:00", "end": "24:00"}],
                    }
                ],
            ),
        )
        alertmanager = stack.alertmanager(render_alertmanager(source))
        alertmanager.post_alerts(
            [
                {"labels": {"alertname": "Muted", "team": "muted", "severity": "warning"}},
                {"labels": {"alertname": "Open", "team": "open", "severity": "warning"}},
            ]
        )
        wait_until(lambda: hooks.posted_to("/open"), timeout=15, what="the open route's notification")
        # Proof of absence by order, not by sleeping: an alert posted after both has to wait its own
        # group_wait and flush; by the time it is delivered, the muted group (older) had flushed too.
        alertmanager.post_alerts([{"labels": {"alertname": "Later", "team": "open", "severity": "warning"}}])
        wait_until(
            lambda: any("Later" in r.body.decode() for r in hooks.posted_to("/open")),
            timeout=15,
            what="the later alert's notification",
        )
        assert hooks.posted_to("/muted") == []
        assert {a["labels"]["alertname"] for a in alertmanager.alerts()} == {"Muted", "Open", "Later"}
