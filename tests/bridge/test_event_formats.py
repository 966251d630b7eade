"""The outbox holds neutral events and alerts; each sink makes its own format of them, exactly as written
here. Items an older bridge (0.1.0) stored in the downstream's format are delivered as they were stored.
Which requests raise or resolve an alert is the domain's decision (domain/alerts.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pushgateway_bridge.domain import alerts
from pushgateway_bridge.domain.events import event
from pushgateway_bridge.domain.kinds import SidecarJobState
from pushgateway_bridge.domain.models.climate import AlertReport, Severity
from pushgateway_bridge.domain.models.sidecar import EventKind, SidecarEvent
from pushgateway_bridge.sinks.alertmanager import post_body
from pushgateway_bridge.sinks.events_file import EventsFileSink
from pushgateway_bridge.sinks.loki import entry, push_body

RECEIVED = 1_700_000_030.0  # 2023-11-14T22:13:50Z; these times are exact in nanoseconds as floats
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"

FAILED = event(
    source="sidecar",
    kind="failed",
    name="wafer-app",
    now=RECEIVED,
    fields={"business_key": "daily-é", "trace_id": TRACE, "metadata": {"stack": "a\nb"}},
    level="error",
    at=RECEIVED - 30,
    event_id="e1",
)
FAILED_LINE = (
    '{"event_id":"e1","source":"sidecar","kind":"failed","received":"2023-11-14T22:13:50Z",'
    '"timestamp":"2023-11-14T22:13:20Z","business_key":"daily-é","trace_id":"' + TRACE + '",'
    '"metadata":{"stack":"a\\nb"}}'
)
FAILED_LABELS = {"source": "sidecar", "kind": "failed", "app": "wafer-app", "level": "error"}
# A week old: Loki would refuse the event's own time, so the entry carries the time received.
LATE = event(
    source="scheduler",
    kind="status",
    name="My Service",
    now=RECEIVED,
    fields={"scheduler_id": "eod"},
    at=RECEIVED - 168 * 3600,
    event_id="e2",
)
LATE_LINE = (
    '{"event_id":"e2","source":"scheduler","kind":"status","received":"2023-11-14T22:13:50Z",'
    '"timestamp":"2023-11-07T22:13:50Z","scheduler_id":"eod"}'
)
LATE_LABELS = {"source": "scheduler", "kind": "status", "service": "My Service", "level": "info"}
# What bridge 0.1.0 put in the outbox: the Loki entry itself.
OLD_ENTRY = {
    "labels": {"source": "service", "kind": "status", "service": "svc", "level": "info"},
    "ts_ns": "1700000000000000000",
    "line": '{"event_id":"e0","source":"service","kind":"status","received":"2023-11-14T22:13:20Z"}',
    "metadata": {"event_id": "e0"},
}


def test_loki_gets_streams_of_entries_with_ns_times_and_structured_metadata() -> None:
    assert push_body([FAILED, LATE, OLD_ENTRY]) == {
        "streams": [
            {
                "stream": FAILED_LABELS,
                "values": [["1700000000000000000", FAILED_LINE, {"event_id": "e1", "trace_id": TRACE}]],
            },
            {"stream": LATE_LABELS, "values": [["1700000030000000000", LATE_LINE, {"event_id": "e2"}]]},
            {
                "stream": OLD_ENTRY["labels"],
                "values": [[OLD_ENTRY["ts_ns"], OLD_ENTRY["line"], {"event_id": "e0"}]],
            },
        ]
    }


def test_the_events_file_gets_the_loki_line_with_its_labels_and_time(tmp_path: Path) -> None:
    sink = EventsFileSink(tmp_path / "events.jsonl", 1 << 20, 1)
    payloads: list[dict[str, Any]] = [dict(FAILED), dict(LATE), OLD_ENTRY]
    sink.send(payloads)
    assert (tmp_path / "events.jsonl").read_text().splitlines(keepends=True) == [
        with_labels_and_time(FAILED_LINE, FAILED_LABELS, "1700000000000000000"),
        with_labels_and_time(LATE_LINE, LATE_LABELS, "1700000030000000000"),
        with_labels_and_time(OLD_ENTRY["line"], OLD_ENTRY["labels"], OLD_ENTRY["ts_ns"]),
    ]


def with_labels_and_time(line: Any, labels: Any, ts_ns: Any) -> str:
    labels_json = json.dumps(labels, separators=(",", ":"))
    return f'{line[:-1]},"labels":{labels_json},"ts_ns":"{ts_ns}"}}\n'


@pytest.mark.parametrize(
    "fields",
    [
        {"scheduler_id": "eod", "message": 'é "quoted"\nnext line'},
        {"message": "a lone surrogate \ud800 from a JSON escape"},
        {"metadata": {"labels": "a key the appended labels must not clash with"}},
        {},
    ],
)
def test_events_file_lines_are_the_record_plus_labels_and_time(
    tmp_path: Path, fields: dict[str, Any]
) -> None:
    payload = dict(event(source="sidecar", kind="progress", name="app", now=1_700_000_000.5, fields=fields))
    sink = EventsFileSink(tmp_path / "events.jsonl", 1 << 20, 1)
    sink.send([payload])
    labels, ts_ns, line, _metadata = entry(payload)  # what Loki would be sent
    text = (tmp_path / "events.jsonl").read_text()
    assert text.endswith("}\n")
    assert text.count("\n") == 1
    written = json.loads(text)
    assert written == {**json.loads(line), "labels": labels, "ts_ns": ts_ns}
    assert list(written)[-2:] == ["labels", "ts_ns"]


def sidecar(kind: EventKind, **extra: Any) -> SidecarEvent:
    return SidecarEvent.model_validate(
        {
            "site_id": "s1",
            "app": {"name": "app"},
            "entity_type": "job",
            "business_key": "bk",
            "kind": kind,
            **extra,
        }
    )


def job(status: str) -> SidecarJobState:
    return {
        "site": "s1",
        "app": "app",
        "entity_type": "job",
        "business_key": "bk",
        "runs": {"success": 0, "failure": 1},
        "status": status,
    }


def test_a_failed_run_raises_an_alert_that_the_next_finished_run_resolves() -> None:
    raised = alerts.sidecar_job(sidecar(EventKind.failed, message="boom"), job("running"), RECEIVED, 3600)
    assert raised == {
        "name": "SidecarJobFailed",
        "labels": {
            "site": "s1",
            "app": "app",
            "entity_type": "job",
            "business_key": "bk",
            "severity": "warning",
        },
        "summary": "app job bk failed",
        "description": "boom",
        "starts": RECEIVED,
        "ends": RECEIVED + 3600,
    }
    failed_without_message = sidecar(EventKind.failed, metadata={"error_message": "from metadata"})
    from_metadata = alerts.sidecar_job(failed_without_message, None, RECEIVED, 3600)
    assert from_metadata is not None and from_metadata["description"] == "from metadata"
    resolved = alerts.sidecar_job(sidecar(EventKind.finished), job("failed"), RECEIVED, 3600)
    assert resolved is not None and resolved["ends"] == RECEIVED  # ends now: resolved
    assert alerts.sidecar_job(sidecar(EventKind.finished), job("finished"), RECEIVED, 3600) is None
    assert alerts.sidecar_job(sidecar(EventKind.finished), None, RECEIVED, 3600) is None
    assert alerts.sidecar_job(sidecar(EventKind.progress), job("failed"), RECEIVED, 3600) is None


def test_alertmanager_gets_v2_alerts_labelled_source_bridge() -> None:
    report = AlertReport(title="Disk full", message="95%", severity=Severity.critical, service="svc")
    old_alert = {"labels": {"alertname": "X", "source": "bridge"}, "startsAt": "2023-11-14T22:13:20Z"}
    assert post_body([alerts.service_alert(report, RECEIVED, 3600), old_alert]) == [
        {
            "labels": {
                "alertname": "ServiceAlert",
                "service": "svc",
                "severity": "critical",
                "source": "bridge",
            },
            "annotations": {"summary": "Disk full", "description": "95%"},
            "startsAt": "2023-11-14T22:13:50Z",
            "endsAt": "2023-11-14T23:13:50Z",
        },
        old_alert,
    ]
