"""Sidecar API: single and batch events, their state, SidecarJobFailed alerts, log lines in strict Loki."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from bridge.conftest import BridgeFactory
from fakes.loki import LokiReceiver
from stack import Alertmanager, Pushgateway, Stack, wait_until

APP = {"app_id": str(uuid.uuid4()), "name": "wafer-app", "version": "1.2.3"}


def event(kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "site_id": "site1",
        "app": APP,
        "entity_type": "job",
        "business_key": "daily-batch",
        "kind": kind,
        **extra,
    }


def test_events_to_prometheus_alertmanager_and_loki(
    stack: Stack,
    pushgateway: Pushgateway,
    alertmanager: Alertmanager,
    loki: LokiReceiver,
    bridge_factory: BridgeFactory,
) -> None:
    bridge = bridge_factory(pushgateway.url, alertmanager_url=alertmanager.url, loki_url=loki.url)
    prometheus = stack.prometheus(targets=[pushgateway.url.split("://")[1]])
    own_id = str(uuid.uuid4())
    started = requests.post(
        f"{bridge.url}/v1/event", json=event("started", event_id=own_id), headers=bridge.headers(), timeout=5
    )
    assert started.status_code == 202
    assert started.json() == {"accepted": 1, "event_ids": [own_id], "duplicates": 0}
    batch = [
        event("progress", progress=0.5, trace_id="4bf92f3577b34da6a3ce929d0e0e4736"),
        event(
            "failed",
            message="Traceback: boom",
            duration_s=12.5,
            cpu_seconds=3.25,
            memory_bytes=1048576,
            metadata={"error_type": "ValueError", "stack_trace": "line 1\nline 2"},
        ),
    ]
    answer = requests.post(
        f"{bridge.url}/v1/events/batch", json={"events": batch}, headers=bridge.headers(), timeout=5
    )
    assert answer.status_code == 202
    assert answer.json()["accepted"] == 2
    ids = [own_id, *answer.json()["event_ids"]]

    sel = 'site="site1",app="wafer-app",entity_type="job",business_key="daily-batch"'
    prometheus.wait_for(f'sidecar_job_status{{{sel},status="failed"}} == 1')
    assert prometheus.value(f'sidecar_job_runs_total{{{sel},outcome="failure"}}') == 1
    assert prometheus.value(f"sidecar_job_last_duration_seconds{{{sel}}}") == 12.5
    assert prometheus.value(f"sidecar_job_last_cpu_seconds{{{sel}}}") == 3.25
    assert prometheus.value(f"sidecar_job_last_memory_bytes{{{sel}}}") == 1048576
    assert prometheus.value(f"sidecar_job_progress_ratio{{{sel}}}") == 0.5
    assert prometheus.query(f"sidecar_job_info{{{sel}}}")[0]["metric"]["app_version"] == "1.2.3"

    alerts = wait_until(lambda: alertmanager.alerts(alertname="SidecarJobFailed"), what="SidecarJobFailed")
    assert alerts[0]["labels"] == {
        "alertname": "SidecarJobFailed",
        "site": "site1",
        "app": "wafer-app",
        "entity_type": "job",
        "business_key": "daily-batch",
        "severity": "warning",
        "source": "bridge",
    }
    assert alerts[0]["annotations"]["description"] == "Traceback: boom"

    wait_until(lambda: set(ids) <= set(loki.event_ids()), what="all three events in Loki")
    assert loki.rejections == []
    failed = next(e for e in loki.entries if e["metadata"]["event_id"] == ids[2])
    assert failed["labels"] == {"source": "sidecar", "kind": "failed", "app": "wafer-app", "level": "error"}
    line = json.loads(failed["line"])
    assert line["metadata"]["stack_trace"] == "line 1\nline 2"
    assert line["business_key"] == "daily-batch"
    progress = next(e for e in loki.entries if e["metadata"]["event_id"] == ids[1])
    assert progress["metadata"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"

    # A finished run resolves the alert.
    requests.post(
        f"{bridge.url}/v1/event", json=event("finished"), headers=bridge.headers(), timeout=5
    ).raise_for_status()
    wait_until(
        lambda: (
            not alertmanager.alerts(alertname="SidecarJobFailed", active="true")
            or all(
                a["status"]["state"] != "active" for a in alertmanager.alerts(alertname="SidecarJobFailed")
            )
        ),
        what="alert resolved",
    )
    health = requests.get(f"{bridge.url}/v1/health", timeout=5).json()
    assert health["status"] == "ok"


@pytest.mark.parametrize(
    ("body", "loc", "needle"),
    [
        (event("exploded"), ["body", "kind"], "'started', 'progress', 'finished' or 'failed'"),
        (event("progress", progress=1.5), ["body", "progress"], "less than or equal to 1"),
        (event("finished", duration_s=-1), ["body", "duration_s"], "greater than or equal to 0"),
        (event("finished", memory_bytes=-1), ["body", "memory_bytes"], "greater than or equal to 0"),
        (event("started", timestamp="2024-05-01T10:00:00"), ["body", "timestamp"], "time zone"),
        (event("started", trace_id="xyz"), ["body", "trace_id"], "hex"),
        (event("started", trace_id="a" * 20), ["body", "trace_id"], "16 or 32 hex digits"),
        # JSON numbers only: lax validation would count `false` as 0 bytes.
        (event("finished", memory_bytes=False), ["body", "memory_bytes"], "valid integer"),
        (event("finished", memory_bytes=1.5), ["body", "memory_bytes"], "valid integer"),
        (event("progress", progress=True), ["body", "progress"], "valid number"),
        (event("finished", duration_s="12.5"), ["body", "duration_s"], "valid number"),
        (event("started", timestamp=1714557600), ["body", "timestamp"], "RFC 3339"),
        (event("started", timestamp="1714557600"), ["body", "timestamp"], "RFC 3339"),
        (event("started", event_id="0" * 32), ["body", "event_id"], "should match pattern"),
        (event("started", colour="red"), ["body", "colour"], "Extra inputs are not permitted"),
        ({"site_id": "s", "kind": "started"}, ["body", "app"], "Field required"),
    ],
)
def test_event_validation(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, body: dict[str, Any], loc: list[str], needle: str
) -> None:
    bridge = bridge_factory(pushgateway.url)
    response = requests.post(f"{bridge.url}/v1/event", json=body, headers=bridge.headers(), timeout=5)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == loc
    assert needle in detail["msg"]


def test_an_event_id_is_its_lowercase_text(pushgateway: Pushgateway, bridge_factory: BridgeFactory) -> None:
    """Ids are kept as text (domain/models/sidecar.py's Uuid): one in capitals is the same id in small
    letters, in the answer, in the log and for a resend."""
    bridge = bridge_factory(pushgateway.url)
    own_id = str(uuid.uuid4())
    url = f"{bridge.url}/v1/events/batch"
    capitals = {
        "events": [event("started", event_id=own_id.upper(), app={**APP, "app_id": APP["app_id"].upper()})]
    }
    first = requests.post(url, json=capitals, headers=bridge.headers(), timeout=5)
    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": 1, "event_ids": [own_id], "duplicates": 0}
    again = requests.post(
        url, json={"events": [event("started", event_id=own_id)]}, headers=bridge.headers(), timeout=5
    )
    assert again.json() == {"accepted": 1, "event_ids": [own_id], "duplicates": 1}
    events_file = bridge.data_dir / "events.jsonl"

    def logged() -> list[dict[str, Any]]:
        lines = (
            [json.loads(line) for line in events_file.read_text().splitlines()]
            if events_file.exists()
            else []
        )
        return [line for line in lines if line.get("event_id") == own_id]

    wait_until(logged, timeout=10, what="the event in the events file")
    assert [line["app"]["app_id"] for line in logged()] == [APP["app_id"]]


def test_batch_limits(stack: Stack, bridge_factory: BridgeFactory) -> None:
    # Pushgateway's own check re-gathers every group on each push (quadratic); the bridge keeps names
    # consistent itself, so deployments with many groups turn the check off, as here.
    pushgateway = stack.pushgateway(extra_args=["--push.disable-consistency-check"])
    bridge = bridge_factory(pushgateway.url)
    url = f"{bridge.url}/v1/events/batch"
    too_many = {"events": [event("progress", business_key=f"k{i}") for i in range(1001)]}
    response = requests.post(url, json=too_many, headers=bridge.headers(), timeout=10)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "a batch holds at most 1000 events, got 1001"
    empty = requests.post(url, json={"events": []}, headers=bridge.headers(), timeout=5)
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["loc"] == ["body", "events"]
    full = {"events": [event("finished", business_key=f"k{i}") for i in range(1000)]}
    response = requests.post(url, json=full, headers=bridge.headers(), timeout=10)
    assert response.status_code == 202
    assert len(set(response.json()["event_ids"])) == 1000
    wait_until(lambda: len(pushgateway.groups()) >= 1000, timeout=20, what="1000 sidecar groups pushed")
    assert bridge.own_metric("bridge_events_accepted_total", source="sidecar") == 1000


def test_a_resent_batch_is_acknowledged_but_not_applied_twice_even_after_a_restart(
    stack: Stack, pushgateway: Pushgateway, loki: LokiReceiver, bridge_factory: BridgeFactory, tmp_path: Any
) -> None:
    """The SDK resends a batch whose answer it lost; the bridge knows its event ids, also after a restart."""
    data_dir = tmp_path / "bridge-data"
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url, data_dir=data_dir)
    prometheus = stack.prometheus(targets=[pushgateway.url.split("://")[1]])
    run = [
        event("started", event_id=str(uuid.uuid4()), business_key="resent"),
        event("finished", event_id=str(uuid.uuid4()), business_key="resent", duration_s=2),
    ]

    def send(events: list[dict[str, Any]]) -> dict[str, Any]:
        response = requests.post(
            f"{bridge.url}/v1/events/batch", json={"events": events}, headers=bridge.headers(), timeout=5
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    first = send(run)
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    assert first["event_ids"] == [e["event_id"] for e in run]
    again = send(run)
    assert (again["accepted"], again["event_ids"], again["duplicates"]) == (2, first["event_ids"], 2)

    port = int(bridge.url.rsplit(":", 1)[1])
    bridge.process.stop()
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url, data_dir=data_dir, port=port)
    assert send(run)["duplicates"] == 2
    # An id repeated inside one batch counts once; a new event beside it is applied.
    repeated = event("started", event_id=str(uuid.uuid4()), business_key="resent")
    mixed = send([repeated, repeated])
    assert mixed["duplicates"] == 1

    sel = 'site="site1",app="wafer-app",entity_type="job",business_key="resent"'
    prometheus.wait_for(f'sidecar_job_status{{{sel},status="running"}} == 1')
    assert prometheus.value(f'sidecar_job_runs_total{{{sel},outcome="success"}}') == 1
    wait_until(lambda: len(loki.event_ids()) >= 3, what="the three distinct events in Loki")
    assert sorted(loki.event_ids()) == sorted([*first["event_ids"], repeated["event_id"]])
    assert loki.duplicates() == {}
