"""API alerts applied to the real Prometheus: stored, written to the rule file, reloaded, seen loaded in
/api/v1/rules; a rule Prometheus refuses rolled back with its error; Prometheus down, then started."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pushgateway_bridge.alerts import rulefile
from pushgateway_bridge.alerts.models import AlertRequest
from pushgateway_bridge.alerts.rulefile import RuleFileRejected
from pushgateway_bridge.alerts.service import APPLIED, KIND, PENDING, AlertNotFound, AlertService
from pushgateway_bridge.queries.prometheus import PrometheusClient
from pushgateway_bridge.storage.sqlite import SQLiteStorage
from stack import Prometheus, Stack, free_port, wait_until

SEED_BODY = {
    "name": "High CPU Usage",
    "description": "CPU usage above 90%",
    "severity": "warning",
    "service": "data-processing",
    "threshold": 90,
}


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SQLiteStorage]:
    opened = SQLiteStorage(tmp_path / "bridge.sqlite3", 100)
    yield opened
    opened.close()


def service_for(storage: SQLiteStorage, rule_file: Path, url: str | None) -> AlertService:
    client = PrometheusClient(url, 5.0) if url else None
    return AlertService(storage, rule_file, client, default_for="0s", load_timeout_seconds=15.0)


def loaded_alert_ids(prometheus: Prometheus) -> list[str]:
    client = PrometheusClient(prometheus.url, 5.0)
    return [
        rule["labels"]["alert_id"]
        for group in client.rule_groups()
        for rule in group["rules"]
        if "alert_id" in rule["labels"]
    ]


def rules_in(path: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text())
    return list(document["groups"][0]["rules"])


def test_create_change_delete_reach_prometheus(stack: Stack, storage: SQLiteStorage, tmp_path: Path) -> None:
    rule_file = tmp_path / "rules" / "api.rules.yml"
    prometheus = stack.prometheus(rule_files=[rule_file])
    alerts = service_for(storage, rule_file, prometheus.url)

    created = alerts.create(AlertRequest.model_validate(SEED_BODY))
    assert created["status"] == APPLIED
    assert loaded_alert_ids(prometheus) == [created["id"]]
    assert [rule["alert"] for rule in rules_in(rule_file)] == ["HighCpuUsage"]

    changed = alerts.update(created["id"], {"threshold": 5})
    assert changed["status"] == APPLIED
    assert changed["request"]["name"] == "High CPU Usage"  # kept: not in the PUT
    assert rules_in(rule_file)[0]["expr"] == "instance:node_cpu_utilisation:rate5m * 100 > 5.0"

    deleted = alerts.delete(created["id"])
    assert deleted["status"] == APPLIED
    assert loaded_alert_ids(prometheus) == []
    assert rules_in(rule_file) == []
    assert storage.record(KIND, created["id"])["deleted"] is True  # type: ignore[index]


# Who refuses a bad expr, and the error the caller then sees: promtool's parse error before any reload, or,
# where promtool is not installed, Prometheus refusing the reload (rolled back).
REFUSALS = {"promtool": "unclosed left parenthesis", "prometheus": "failed to reload config"}


@pytest.mark.parametrize("refused_by", sorted(REFUSALS))
def test_a_bad_expr_is_refused_with_its_error_and_nothing_is_kept(
    stack: Stack, storage: SQLiteStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused_by: str
) -> None:
    if refused_by == "prometheus":
        monkeypatch.setattr(rulefile, "check", lambda _text: None)  # as where promtool is not installed
    rule_file = tmp_path / "api.rules.yml"
    prometheus = stack.prometheus(rule_files=[rule_file])
    alerts = service_for(storage, rule_file, prometheus.url)
    kept = alerts.create(AlertRequest.model_validate(SEED_BODY))
    before = rule_file.read_text()

    with pytest.raises(RuleFileRejected) as caught:
        alerts.create(AlertRequest.model_validate({"name": "Broken", "expr": "rate(up[5m]", "threshold": 1}))
    assert REFUSALS[refused_by] in str(caught.value)
    assert rule_file.read_text() == before
    assert [body["id"] for body in alerts.live()] == [kept["id"]]
    assert loaded_alert_ids(prometheus) == [kept["id"]]


def test_with_prometheus_down_the_alert_is_stored_and_applied_when_it_starts(
    stack: Stack, storage: SQLiteStorage, tmp_path: Path
) -> None:
    rule_file = tmp_path / "api.rules.yml"
    down = service_for(storage, rule_file, f"http://127.0.0.1:{free_port()}")
    created = down.create(AlertRequest.model_validate(SEED_BODY))
    assert created["status"] == PENDING
    rule_file.write_text("groups: []\n")  # lost or edited by hand meanwhile

    prometheus = stack.prometheus(rule_files=[rule_file])
    assert service_for(storage, rule_file, prometheus.url).apply() == APPLIED
    assert loaded_alert_ids(prometheus) == [created["id"]]


def test_an_inferred_metric_is_inferred_again_when_a_put_renames_the_alert(
    storage: SQLiteStorage, tmp_path: Path
) -> None:
    alerts = service_for(storage, tmp_path / "api.rules.yml", None)
    created = alerts.create(AlertRequest.model_validate(SEED_BODY))
    assert (created["metric"], created["status"]) == ("host_cpu", PENDING)
    assert "metric" not in created["request"]
    renamed = alerts.update(created["id"], {"name": "Disk almost full", "description": "disk above 90%"})
    assert (renamed["metric"], renamed["inferred"]) == ("host_disk", True)
    assert rules_in(tmp_path / "api.rules.yml")[0]["alert"] == "DiskAlmostFull"


def test_a_change_to_an_alert_deleted_meanwhile_does_not_bring_it_back(
    storage: SQLiteStorage, tmp_path: Path
) -> None:
    alerts = service_for(storage, tmp_path / "api.rules.yml", None)
    created = alerts.create(AlertRequest.model_validate(SEED_BODY))
    stale = alerts.stored(created["id"])  # what a PUT read before another client's DELETE
    alerts.delete(created["id"])
    with pytest.raises(AlertNotFound):
        alerts._change(created["id"], {**stale, "deleted": False}, previous=stale, created=stale["created"])
    assert alerts.live() == []
    assert rules_in(tmp_path / "api.rules.yml") == []


class SpyLock:
    """The service's lock, counting the threads waiting to take it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counting = threading.Lock()
        self.waiting = 0

    def __enter__(self) -> None:
        with self.counting:
            self.waiting += 1
        self.lock.acquire()
        with self.counting:
            self.waiting -= 1

    def __exit__(self, *_exc: object) -> None:
        self.lock.release()


def test_a_change_waits_for_the_one_in_progress_so_the_file_keeps_every_stored_change(
    storage: SQLiteStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each change renders the whole file from storage. The first change is held inside its promtool
    check, after it read the other alerts' rules: a second change must wait for it, or the first would
    then write the file with the second alert as it was before."""
    rule_file = tmp_path / "api.rules.yml"
    alerts = service_for(storage, rule_file, None)
    first, second = (
        alerts.create(AlertRequest.model_validate({**SEED_BODY, "name": name}))["id"] for name in ("A", "B")
    )
    in_check, go = threading.Event(), threading.Event()
    real_check = rulefile.check
    checks: list[str] = []

    def held_check(text: str) -> None:
        checks.append(text)
        if len(checks) == 1:
            in_check.set()
            go.wait(30)
        real_check(text)

    monkeypatch.setattr(rulefile, "check", held_check)
    lock = SpyLock()
    monkeypatch.setattr(alerts, "lock", lock)
    one = threading.Thread(target=alerts.update, args=(first, {"threshold": 11}))
    one.start()
    assert in_check.wait(30)
    other = threading.Thread(target=alerts.update, args=(second, {"threshold": 22}))
    other.start()
    wait_until(lambda: not other.is_alive() or lock.waiting > 0, timeout=30, what="the second change")
    go.set()
    one.join(30)
    other.join(30)

    stored = {alert_id: alerts.stored(alert_id)["rule"]["expr"] for alert_id in (first, second)}
    assert sorted(stored.values()) == [
        "instance:node_cpu_utilisation:rate5m * 100 > 11.0",
        "instance:node_cpu_utilisation:rate5m * 100 > 22.0",
    ]
    assert {rule["labels"]["alert_id"]: rule["expr"] for rule in rules_in(rule_file)} == stored
