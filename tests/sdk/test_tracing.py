"""Spans over OTLP/HTTP to a strict protobuf receiver: the job span with its subjob as child."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from uuid import uuid4

import pytest

from fakes.otlp import OtlpReceiver
from fakes.sidecar_api import EventReceiver
from monitoring_sdk import AppRef, Monitored, SidecarEmitter, configure_tracing
from monitoring_sdk.tracing import traces_endpoint
from stack import wait_until

pytest.importorskip("opentelemetry.sdk.trace")
APP = AppRef(app_id=uuid4(), name="traced-app", version="2.0.0")


def attributes(span: object) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in span.attributes}  # type: ignore[attr-defined]


def test_job_span_has_the_subjob_span_as_child(otlp: OtlpReceiver, receiver: EventReceiver) -> None:
    provider = configure_tracing(otlp.url, service_name="traced-app", set_global=False)
    with SidecarEmitter(receiver.url) as emitter:
        job = Monitored(
            site_id="site1", app=APP, business_key="daily-batch", emitter=emitter, tracer_provider=provider
        )
        with job, Monitored(entity_type="subjob", business_key="extract") as sub:
            pass
        assert emitter.flush(5)
    assert provider.force_flush(5000)

    spans = {span.name: span for span in otlp.spans}
    assert set(spans) == {"job daily-batch", "subjob extract"}
    parent, child = spans["job daily-batch"], spans["subjob extract"]
    assert child.trace_id == parent.trace_id
    assert child.parent_span_id == parent.span_id
    assert parent.parent_span_id == b""
    assert attributes(parent)["monitoring.entity_id"] == str(job.entity_id)
    assert attributes(child)["monitoring.parent_id"] == str(job.entity_id)
    assert otlp.resources[0]["service.name"] == "traced-app"
    assert all(r["headers"]["content-type"] == "application/x-protobuf" for r in otlp.requests)
    assert all(r["status"] == 200 for r in otlp.requests)

    # The trace id and each block's span id are in its events, so logs link to the trace.
    by_key = {(e["business_key"], e["kind"]): e for e in receiver.events}
    for key, span in (("daily-batch", parent), ("extract", child)):
        for kind in ("started", "finished"):
            assert by_key[key, kind]["trace_id"] == parent.trace_id.hex()
            assert by_key[key, kind]["span_id"] == span.span_id.hex()
    assert job.trace_id == parent.trace_id.hex() == sub.trace_id
    provider.shutdown()


def test_failed_job_span_has_error_status_and_exception_event(otlp: OtlpReceiver) -> None:
    provider = configure_tracing(otlp.url, set_global=False)
    emitter = SidecarEmitter(f"{otlp.url}/nowhere", close_timeout_s=0.5)
    with (
        pytest.raises(ZeroDivisionError),
        Monitored(site_id="s", app=APP, business_key="bad", emitter=emitter, tracer_provider=provider),
    ):
        _ = 1 / 0
    emitter.close()
    assert provider.force_flush(5000)
    (span,) = otlp.spans
    assert span.status.code == 2  # STATUS_CODE_ERROR
    assert "ZeroDivisionError" in span.status.message
    assert [event.name for event in span.events] == ["exception"]
    provider.shutdown()


def test_endpoint_from_environment() -> None:
    assert traces_endpoint(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://tempo:4318/"}) == (
        "http://tempo:4318/v1/traces"
    )
    assert (
        traces_endpoint(environ={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x/custom"})
        == "http://x/custom"
    )
    assert traces_endpoint("http://tempo:4318/v1/traces", environ={}) == "http://tempo:4318/v1/traces"
    assert traces_endpoint(environ={}) is None


def test_otel_exporter_otlp_endpoint_alone_turns_tracing_on(
    otlp: OtlpReceiver, receiver: EventReceiver, tmp_path: Path
) -> None:
    """A job that configures nothing but the variable gets its spans exported at exit."""
    script = tmp_path / "job.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from uuid import uuid4
            from monitoring_sdk import AppRef, Monitored, SidecarEmitter

            app = AppRef(app_id=uuid4(), name='env-app', version='1.0.0')
            emitter = SidecarEmitter(base_url={receiver.url!r})
            with Monitored(site_id='site1', app=app, business_key='env-job', emitter=emitter):
                with Monitored(entity_type='subjob', business_key='step'):
                    pass
            """
        )
    )
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    wait_until(lambda: len(otlp.spans) == 2, timeout=5, what="two spans")
    names = {span.name for span in otlp.spans}
    assert names == {"job env-job", "subjob step"}
    assert otlp.resources[0]["service.name"] == "env-app"
    trace_ids = {e["trace_id"] for e in receiver.events}
    assert trace_ids == {otlp.spans[0].trace_id.hex()}
