"""A span per monitored job and subjob, with OpenTelemetry when the `otel` extra is installed.

`configure_tracing(endpoint)` sends spans over OTLP/HTTP (protobuf) to Tempo, directly or through a
collector; without an argument it reads OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT.
`Monitored` calls it by itself on first use when that variable is set and no tracer provider is configured.
Without OpenTelemetry installed, jobs run without spans and events carry no trace id.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("monitoring_sdk")

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    _OTEL = True
except ImportError:  # pragma: no cover - exercised only without the extra
    _OTEL = False

TRACES_PATH = "/v1/traces"
_auto_lock = threading.Lock()
_auto_done = False


def available() -> bool:
    return _OTEL


def traces_endpoint(endpoint: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The full OTLP/HTTP traces URL: `endpoint` or the OTEL_* variables, with /v1/traces added to a base."""
    env = os.environ if environ is None else environ
    if endpoint is None:
        full = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if full:
            return full
        endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return None
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def configure_tracing(
    endpoint: str | None = None,
    *,
    service_name: str = "monitoring-sdk",
    service_version: str | None = None,
    headers: Mapping[str, str] | None = None,
    set_global: bool = True,
) -> Any:
    """Build an SDK `TracerProvider` exporting in batches over OTLP/HTTP; also make it global by default."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    url = traces_endpoint(endpoint)
    if url is None:
        raise ValueError("no OTLP endpoint: pass one or set OTEL_EXPORTER_OTLP_ENDPOINT")
    attributes: dict[str, str] = {"service.name": service_name}
    if service_version:
        attributes["service.version"] = service_version
    provider = TracerProvider(resource=Resource.create(attributes))
    exporter = OTLPSpanExporter(endpoint=url, headers=dict(headers or {}), timeout=5)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def _auto_configure(service_name: str, service_version: str) -> None:
    """Configure tracing once from the environment, unless the application configured its own provider."""
    global _auto_done  # noqa: PLW0603
    with _auto_lock:
        if _auto_done:
            return
        _auto_done = True
        if traces_endpoint() is None:
            return
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415

        if isinstance(trace.get_tracer_provider(), TracerProvider):
            return
        configure_tracing(service_name=service_name, service_version=service_version)


class JobSpan:
    """The span of one job or subjob, current while the block runs, so nested blocks become children."""

    def __init__(self, span: Any) -> None:
        self._span = span
        self._token = otel_context.attach(trace.set_span_in_context(span))
        context = span.get_span_context()
        self.trace_id: str | None = format(context.trace_id, "032x") if context.is_valid else None
        self.span_id: str | None = format(context.span_id, "016x") if context.is_valid else None

    def set_attribute(self, key: str, value: str | float | int | bool) -> None:
        self._span.set_attribute(key, value)

    def end(self, error: BaseException | None) -> None:
        try:
            if error is not None:
                self._span.record_exception(error)
                self._span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            else:
                self._span.set_status(Status(StatusCode.OK))
        finally:
            try:
                otel_context.detach(self._token)
            finally:
                self._span.end()


def start_job_span(
    name: str,
    attributes: Mapping[str, str],
    *,
    tracer_provider: Any = None,
    service_name: str = "monitoring-sdk",
    service_version: str = "",
) -> JobSpan | None:
    """A new span, child of the current one; None without OpenTelemetry or when it fails."""
    if not _OTEL:
        return None
    try:
        if tracer_provider is None:
            _auto_configure(service_name, service_version)
        tracer = trace.get_tracer("monitoring_sdk", tracer_provider=tracer_provider)
        span = tracer.start_span(name, attributes=dict(attributes), kind=trace.SpanKind.INTERNAL)
        return JobSpan(span)
    except Exception:  # tracing must never fail the job
        log.exception("monitoring_sdk: cannot start span %s", name)
        return None
