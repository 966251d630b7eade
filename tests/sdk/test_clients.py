"""Thin clients for the climate monitor and scheduler APIs, against a recording local receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from fakes.seed_apis import ApiReceiver
from monitoring_sdk import ApiError, ClimateClient, SchedulerClient
from stack import free_port, wait_until


@pytest.fixture
def api() -> Iterator[ApiReceiver]:
    server = ApiReceiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_climate_client_sends_the_seed_bodies_with_bearer_key(api: ApiReceiver) -> None:
    monitor = ClimateClient(api.url, "example-service", api_key="k1")
    monitor.update_status("up", "http://example-service:8000")
    monitor.send_metric("cpu", 45.2)
    monitor.update_pipeline("data_ingestion", "running", {"step": "data_download", "progress": 45})
    monitor.send_alert("High CPU Usage", "CPU usage above 90%", severity="warning")

    assert [(c["method"], c["path"]) for c in api.calls] == [
        ("POST", "/services/"),
        ("POST", "/metrics/"),
        ("POST", "/pipelines/"),
        ("POST", "/alerts/"),
    ]
    assert {c["headers"]["authorization"] for c in api.calls} == {"Bearer k1"}
    assert [c["body"] for c in api.calls] == [
        {"name": "example-service", "status": "up", "endpoint": "http://example-service:8000"},
        {"service": "example-service", "metric_type": "cpu", "value": 45.2},
        {
            "pipeline_type": "data_ingestion",
            "status": "running",
            "metadata": {"step": "data_download", "progress": 45},
        },
        {
            "title": "High CPU Usage",
            "message": "CPU usage above 90%",
            "severity": 2,
            "service": "example-service",
        },
    ]


def test_climate_send_metrics_reports_host_percentages(api: ApiReceiver) -> None:
    values = ClimateClient(api.url, "svc").send_metrics()
    assert set(values) == {"cpu", "memory", "disk"}
    assert all(0 <= value <= 100 for value in values.values())
    assert [c["body"]["metric_type"] for c in api.calls] == ["cpu", "memory", "disk"]
    assert "authorization" not in api.calls[0]["headers"]


def test_climate_client_rejects_bad_values_before_sending(api: ApiReceiver) -> None:
    monitor = ClimateClient(api.url, "svc")
    with pytest.raises(ValueError, match="status"):
        monitor.update_status("sideways")
    with pytest.raises(ValueError, match="severity"):
        monitor.send_alert("t", "m", severity=7)
    assert api.calls == []


def test_transient_errors_are_retried_permanent_ones_raised(api: ApiReceiver) -> None:
    monitor = ClimateClient(api.url, "svc", retries=2, backoff_s=0.01)
    api.fail_next = [503]
    assert monitor.update_status("up") == {"ok": True, "path": "/services/"}
    assert len(api.calls) == 2

    api.fail_next = [422]
    with pytest.raises(ApiError) as raised:
        monitor.update_status("down")
    assert raised.value.status == 422
    assert raised.value.permanent
    assert len(api.calls) == 3


def test_unreachable_server_is_an_api_error_without_status() -> None:
    monitor = ClimateClient(f"http://127.0.0.1:{free_port()}", "svc", retries=0, timeout_s=1)
    with pytest.raises(ApiError) as raised:
        monitor.update_status("up")
    assert raised.value.status is None
    assert not raised.value.permanent


def heartbeat_threads(scheduler_id: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == f"heartbeat-{scheduler_id}"]


def scheduler(api: ApiReceiver, **options: Any) -> SchedulerClient:
    return SchedulerClient(
        api.url + "/api/v1", "key-1", "my-service-eod", "My Service", "EOD Processing", **options
    )


def test_scheduler_run_reports_running_heartbeats_and_completed(api: ApiReceiver) -> None:
    monitor = scheduler(api, heartbeat_interval_s=0.05)
    with monitor.run() as run:
        wait_until(lambda: monitor.heartbeats_sent >= 2, timeout=5, what="two heartbeats")
        run.metadata["records_processed"] = 1000
        (beating,) = heartbeat_threads("my-service-eod")
    # The heartbeat thread ended with the run: no heartbeat can follow the final report.
    assert not beating.is_alive()
    assert heartbeat_threads("my-service-eod") == []
    calls = [(c["method"], c["path"]) for c in api.calls]
    assert calls[0] == ("POST", "/api/v1/schedulers/register")
    assert calls[1] == ("PUT", "/api/v1/schedulers/my-service-eod/status")
    assert calls[-1] == ("PUT", "/api/v1/schedulers/my-service-eod/status")
    assert calls.count(("POST", "/api/v1/schedulers/my-service-eod/heartbeat")) >= 2
    assert {c["headers"]["x-api-key"] for c in api.calls} == {"key-1"}
    register, running, completed = api.calls[0]["body"], api.calls[1]["body"], api.calls[-1]["body"]
    assert register == {
        "scheduler_id": "my-service-eod",
        "service_name": "My Service",
        "job_name": "EOD Processing",
    }
    assert running["status"] == "running"
    assert datetime.fromisoformat(running["timestamp"]).tzinfo is not None
    assert completed["status"] == "completed"
    assert completed["execution_time_ms"] >= 50
    assert completed["metadata"] == {"records_processed": 1000}


def test_scheduler_run_reports_failed_with_the_error_and_reraises(api: ApiReceiver) -> None:
    monitor = scheduler(api)
    with pytest.raises(RuntimeError, match="disk full"), monitor.run(heartbeat=False):
        raise RuntimeError("disk full")
    failed = api.calls[-1]["body"]
    assert failed["status"] == "failed"
    assert failed["error_message"] == "disk full"
    assert failed["metadata"]["error_type"] == "RuntimeError"
    assert "disk full" in failed["metadata"]["stack_trace"]


def test_scheduler_status_404_registers_and_sends_again(api: ApiReceiver) -> None:
    monitor = scheduler(api)
    api.unknown.add("/api/v1/schedulers/my-service-eod/status")
    monitor.update_status("pending")
    assert [(c["method"], c["path"]) for c in api.calls] == [
        ("PUT", "/api/v1/schedulers/my-service-eod/status"),
        ("POST", "/api/v1/schedulers/register"),
        ("PUT", "/api/v1/schedulers/my-service-eod/status"),
    ]


def test_scheduler_run_survives_an_unreachable_api() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monitor = SchedulerClient(url, None, "job-x", "Svc", "Job", retries=0, timeout_s=0.5)
    with monitor.run(heartbeat=False) as run:
        run.metadata["ok"] = True
    assert run.metadata == {"ok": True}  # the block ran to its end; no report raised into it
    assert "ConnectionError" in (monitor.last_error or "")


def test_scheduler_run_with_the_api_failing_tries_each_report_retries_plus_one_times(
    api: ApiReceiver,
) -> None:
    """The job's cost of a failing API is bounded by the client's settings: retries + 1 tries a report."""
    api.fail_next = [503] * 20
    monitor = scheduler(api, retries=1, backoff_s=0.01)
    with monitor.run(heartbeat=False) as run:
        run.metadata["ok"] = True
    assert run.metadata == {"ok": True}
    assert [c["path"] for c in api.calls] == [
        "/api/v1/schedulers/register",
        "/api/v1/schedulers/register",
        "/api/v1/schedulers/my-service-eod/status",  # running
        "/api/v1/schedulers/my-service-eod/status",
        "/api/v1/schedulers/my-service-eod/status",  # completed
        "/api/v1/schedulers/my-service-eod/status",
    ]
    assert [c["body"]["status"] for c in api.calls[2:]] == ["running", "running", "completed", "completed"]
    assert "HTTP 503" in (monitor.last_error or "")
