"""The hot routes' one-pass decoding (api/fast_route.py) accepts nothing FastAPI's own handler refuses,
and gives what FastAPI's would; and the hot routes do take it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from pushgateway_bridge.api.fast_route import FastRoute, decode, first_values, plan
from pushgateway_bridge.api.routes import climate, schedulers, sidecar
from pushgateway_bridge.api.routes.common import Answer
from pushgateway_bridge.domain.models.climate import AlertReport, MetricReport, PipelineReport, ServiceReport
from pushgateway_bridge.domain.models.schedulers import (
    SchedulerHeartbeat,
    SchedulerRegistration,
    SchedulerStatusUpdate,
)
from pushgateway_bridge.domain.models.sidecar import SidecarBatch, SidecarEvent

UUID = "0f0e0d0c-0b0a-0908-0706-050403020100"
# Values JSON mode and Python mode might take differently: numbers as strings, booleans, floats for
# integers, huge and non-finite numbers, UUIDs and times in other spellings, nulls, wrong shapes.
AWKWARD: list[Any] = [
    None, True, False, 0, 1, -1, 0.5, 1.0, 5.0, 5.5, -0.0, 1e2, 10**30, 1e308, "1", "0.5", "", "x",
    "true", UUID, UUID.replace("-", ""), "{" + UUID + "}", "urn:uuid:" + UUID,
    "2024-01-15T01:00:00Z", "2024-01-15T01:00:00", "2024-01-15", "1700000000", 1700000000, "x" * 201,
    "running", "RUNNING", "completed", "progress", "cpu", "training", 2, 2.0, 2.5, "critical", [], {},
    {"progress": 50}, {"progress": True}, {"progress": "50"}, {"step": 1}, {"a": {"b": [1, None]}},
    "0123456789abcdef", "0123456789abcdef\n",
]  # fmt: skip
VALID: dict[type[BaseModel], dict[str, Any]] = {
    SidecarEvent: {
        "site_id": "s", "app": {"name": "a", "app_id": UUID}, "entity_type": "job", "business_key": "b",
        "kind": "progress", "progress": 0.5, "event_id": UUID, "timestamp": "2024-01-15T01:00:00Z",
        "memory_bytes": 5, "duration_s": 1.5, "trace_id": "0123456789abcdef", "metadata": {"rows": 1},
    },
    SchedulerRegistration: {"scheduler_id": "eod", "service_name": "svc", "job_name": "job"},
    SchedulerStatusUpdate: {
        "scheduler_id": "eod", "status": "running", "execution_time_ms": 1500,
        "timestamp": "2024-01-15T01:00:00Z", "metadata": {"rows": 1},
    },
    SchedulerHeartbeat: {"scheduler_id": "eod"},
    ServiceReport: {"name": "svc", "status": "up", "endpoint": "http://x"},
    MetricReport: {"service": "svc", "metric_type": "cpu", "value": 1.5},
    PipelineReport: {"pipeline_type": "training", "status": "running", "metadata": {"progress": 50}},
    AlertReport: {"title": "t", "service": "svc", "severity": 2, "message": "m"},
}  # fmt: skip
# Bodies no single field change gives: JSON that Python's json module and pydantic-core's parser might
# read differently.
RAW = [
    b'{"scheduler_id": "a", "scheduler_id": "b", "status": "running"}',
    b'{"status": "running", "metadata": {"x": NaN}}',
    b'{"status": "running", "metadata": {"x": Infinity}}',
    b'{"status": "running", "execution_time_ms": 1e400}',
    b'{"status": "running", "error_message": "a\\ud800"}',
    b'\xef\xbb\xbf{"status": "running"}',
    '{"status": "running"}'.encode("utf-16"),
    b' {"status": "running"} \n',
    b'{"status": "running"} x',
    b'{"status": "running", "metadata": ' + b'{"a": ' * 300 + b"1" + b"}" * 300 + b"}",
    b"null",
    b"[]",
]


def fastapi_decode(model: type[BaseModel], body: bytes) -> BaseModel | None:
    """What FastAPI's handler does with a JSON body: json.loads, then validate_python."""
    try:
        return TypeAdapter(model).validate_python(json.loads(body), from_attributes=True)
    except (ValueError, RecursionError, ValidationError):
        return None


def bodies(model: type[BaseModel]) -> list[bytes]:
    valid = VALID[model]
    out = [json.dumps(valid).encode(), *RAW]
    for field in model.model_fields:
        for value in AWKWARD:
            out.append(json.dumps({**valid, field: value}).encode())
        out.append(json.dumps({key: value for key, value in valid.items() if key != field}).encode())
    out.append(json.dumps({**valid, "unknown_field": 1}).encode())
    if model is SidecarEvent:
        out += [json.dumps({**valid, "app": {"name": "a", "app_id": value}}).encode() for value in AWKWARD]
    return out


@pytest.mark.parametrize("model", list(VALID), ids=lambda model: model.__name__)
def test_one_pass_decoding_accepts_only_what_fastapi_accepts_and_gives_the_same(
    model: type[BaseModel],
) -> None:
    accepted = refused = 0
    for body in bodies(model):
        fast = decode(model, body)
        standard = fastapi_decode(model, body)
        if fast is None:
            refused += 1  # FastAPI's handler answers these, as before
            continue
        accepted += 1
        assert standard is not None, f"{model.__name__}: accepted only by the fast path: {body[:200]!r}"
        assert repr(fast.model_dump()) == repr(standard.model_dump()), body[:200]
    assert accepted >= 3
    assert refused >= 10


def test_a_batch_decodes_alike() -> None:
    event = VALID[SidecarEvent]
    body = json.dumps({"events": [event, {**event, "kind": "finished", "event_id": None}]}).encode()
    fast, standard = decode(SidecarBatch, body), fastapi_decode(SidecarBatch, body)
    assert fast is not None and standard is not None
    assert repr(fast.model_dump()) == repr(standard.model_dump())
    assert decode(SidecarBatch, b'{"events": []}') is None
    assert decode(SidecarBatch, json.dumps({"events": [{**event, "progress": 2}]}).encode()) is None


HOT = {
    ("POST", "/v1/events/batch"): SidecarBatch,
    ("POST", "/v1/event"): SidecarEvent,
    ("POST", "/api/v1/schedulers/register"): SchedulerRegistration,
    ("PUT", "/api/v1/schedulers/{scheduler_id}/status"): SchedulerStatusUpdate,
    ("POST", "/api/v1/schedulers/{scheduler_id}/heartbeat"): SchedulerHeartbeat,
    ("POST", "/services/"): ServiceReport,
    ("POST", "/metrics/"): MetricReport,
    ("POST", "/pipelines/"): PipelineReport,
    ("POST", "/alerts/"): AlertReport,
}


def test_the_hot_routes_take_the_one_pass_path() -> None:
    routes = {
        (method, route.path): route
        for module in (sidecar, schedulers, climate)
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    for key, model in HOT.items():
        route = routes[key]
        assert isinstance(route, FastRoute), key
        route_plan = plan(route.dependant)
        assert route_plan is not None, key
        assert route_plan.body_model is model, key
        assert route_plan.principal_name is not None, key  # the caller is still authenticated
    heartbeat = plan(routes[("POST", "/api/v1/schedulers/{scheduler_id}/heartbeat")].dependant)
    assert heartbeat is not None and heartbeat.body_optional
    assert [field.name for field in heartbeat.path] == ["scheduler_id"]


@pytest.mark.parametrize(
    "raw",
    [
        [],
        [(b"host", b"x"), (b"content-type", b"application/json"), (b"x-api-key", b"k")],
        [(b"x-api-key", b""), (b"authorization", b"Bearer k")],
        [(b"x-api-key", b"first"), (b"x-api-key", b"second"), (b"authorization", b"caf\xe9")],
        [(b"content-type", b"text/plain"), (b"content-type", b"application/json")],
    ],
)
def test_the_one_pass_headers_are_what_starlettes_headers_give(raw: list[tuple[bytes, bytes]]) -> None:
    found = first_values(raw)
    headers = Headers(raw=raw)
    for name in ("content-type", "x-api-key", "authorization"):
        assert found.get(name.encode()) == headers.get(name)


@pytest.mark.parametrize("status_code", [200, 201, 202, 204, 304, 404])
def test_an_answer_has_the_headers_of_a_json_response(status_code: int) -> None:
    content = {"scheduler_id": "eod", "accepted": True, "n": [1, 2.5, None]}
    ours, theirs = Answer(content, status_code), JSONResponse(content, status_code)
    assert ours.raw_headers == [
        (name, str(len(ours.body)).encode() if name == b"content-length" else value)
        for name, value in theirs.raw_headers
    ]
    assert json.loads(bytes(ours.body)) == json.loads(bytes(theirs.body))
