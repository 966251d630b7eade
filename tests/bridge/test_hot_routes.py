"""The hot routes' dispatch (api/hot_routes.py) answers every request as FastAPI's router would: the same
route, the same refusals, the same metrics; and it does take the hot routes' requests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from pushgateway_bridge.api.hot_routes import HOT_METHODS, HotRoutes
from pushgateway_bridge.api.routes import climate, schedulers, sidecar
from pushgateway_bridge.main import create_app
from pushgateway_bridge.settings import load_settings

KEY, SCOPED = "hot-routes-admin-key", "hot-routes-scoped-key"
UUIDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMES = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)?")
BATCH = {
    "events": [
        {"site_id": "s", "app": {"name": "a"}, "entity_type": "job", "business_key": "b", "kind": "started"}
    ]
}
# A batch over max_body_bytes (1 MiB) that would validate.
OVER = json.dumps({"events": [{**BATCH["events"][0], "message": "m" * 100_000}] * 11}).encode()
# (method, path, body or None, key, extra headers): every kind of answer the hot routes give, and
# requests beside them the router answers (405, a trailing slash, a path with no route). A body that is
# a list of bytes is sent in those chunks, without a content-length.
REQUESTS: list[tuple[str, str, Any, str | None, dict[str, str]]] = [
    ("POST", "/api/v1/schedulers/register", {"scheduler_id": "eod", "service_name": "s", "job_name": "j"}, KEY, {}),
    ("POST", "/api/v1/schedulers/eod/heartbeat", None, KEY, {}),
    ("POST", "/api/v1/schedulers/eod/heartbeat", {"scheduler_id": "eod"}, KEY, {}),
    ("PUT", "/api/v1/schedulers/eod/status", {"scheduler_id": "eod", "status": "running"}, KEY, {}),
    ("PUT", "/api/v1/schedulers/eod/status", {"scheduler_id": "eod", "status": "nope"}, KEY, {}),
    ("PUT", "/api/v1/schedulers/eod/status", {"scheduler_id": "eod", "status": "running"}, SCOPED, {}),
    ("PUT", "/api/v1/schedulers/eod/status", {"scheduler_id": "eod", "status": "running"}, None, {}),
    ("POST", "/api/v1/schedulers/nobody/heartbeat", None, KEY, {}),
    ("POST", "/api/v1/schedulers/eod/heartbeat", None, None, {"authorization": f"Bearer {KEY}"}),
    ("POST", "/api/v1/schedulers/eod/heartbeat", None, None, {"x-api-key": "", "authorization": f"Bearer {KEY}"}),
    ("POST", "/api/v1/schedulers/eod/heartbeat", None, None, {"authorization": f"Basic {KEY}"}),
    ("PUT", "/api/v1/schedulers/register", {}, KEY, {}),  # 405
    ("POST", "/api/v1/schedulers/register/", {}, KEY, {}),
    ("POST", "/api/v1/schedulers/eod/heartbeat", "not json", KEY, {}),
    ("POST", "/api/v1/schedulers/eod/heartbeat", {"scheduler_id": "eod"}, KEY, {"content-type": "text/plain"}),
    ("POST", "/services/", {"name": "svc", "status": "up", "endpoint": "http://x"}, KEY, {}),
    ("POST", "/services/", {"name": "svc", "status": "up", "endpoint": "http://x"}, SCOPED, {}),
    ("POST", "/metrics/", {"service": "svc", "metric_type": "cpu", "value": 1.5}, KEY, {}),
    ("POST", "/alerts/", {"title": "t", "service": "svc", "severity": 9, "message": "m"}, KEY, {}),
    ("POST", "/v1/events/batch", BATCH, KEY, {}),
    ("POST", "/v1/events/batch", {"events": [{"kind": "started"}]}, KEY, {}),
    ("POST", "/v1/event", {**BATCH["events"][0], "x" * 10: "y" * 2_000_000}, KEY, {}),  # 413
    ("POST", "/v1/nothing", {}, KEY, {}),
    ("POST", "/api/v1/schedulers/eod/heartbeat", [b'{"scheduler_id"', b':"eod"}'], KEY, {}),
    ("POST", "/v1/events/batch", [OVER[:600_000], OVER[600_000:]], KEY, {}),  # 413, though it validates
]  # fmt: skip


def application(tmp_path: Path, name: str, hot: bool) -> FastAPI:
    home = tmp_path / name
    home.mkdir()
    keys = [
        {
            "name": "admin",
            "sha256": hashlib.sha256(KEY.encode()).hexdigest(),
            "services": ["*"],
            "schedulers": ["*"],
            "rate_per_second": 1e6,
        },
        {"name": "scoped", "sha256": hashlib.sha256(SCOPED.encode()).hexdigest(), "services": ["other"]},
    ]
    settings = load_settings(
        None,
        api_keys=keys,
        data_dir=str(home / "data"),
        events_file=str(home / "events.jsonl"),
        pushgateway_url="http://127.0.0.1:9",
    )
    app = create_app(settings)
    if not hot:  # the same application, every request through FastAPI's middleware stack and router
        app.hot = None
    return app


@asynccontextmanager
async def client(app: FastAPI, root_path: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app, root_path=root_path)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bridge") as http,
    ):
        yield http


def normal(text: str) -> str:
    """The answer without what differs between two bridges: random ids and the clock."""
    return TIMES.sub("<time>", UUIDS.sub("<uuid>", text))


async def chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def answers(app: FastAPI, root_path: str) -> list[tuple[int, str, dict[str, str]]]:
    seen = []
    async with client(app, root_path) as http:
        for method, path, body, key, extra in REQUESTS:
            headers = {"content-type": "application/json", **({"x-api-key": key} if key else {}), **extra}
            content = (
                body
                if isinstance(body, str)
                else None
                if body is None
                else chunks(body)
                if isinstance(body, list)
                else httpx.Request(method, "http://x", json=body).content
            )
            answer = await http.request(method, root_path + path, content=content, headers=headers)
            kept = {
                name: answer.headers[name]
                for name in ("content-type", "allow", "retry-after")
                if name in answer.headers
            }
            seen.append((answer.status_code, normal(answer.text), kept))
    return seen


def counted(app: FastAPI) -> dict[tuple[str, str], float]:
    """bridge_http_requests_total of this application's bridge, by (handler, code)."""
    metrics = app.state.bridge.metrics.http_requests
    return {
        (sample.labels["handler"], sample.labels["code"]): sample.value
        for family in metrics.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    }


@pytest.mark.parametrize("root_path", ["", "/bridge"])  # behind a proxy that serves it under a path
def test_the_hot_routes_answer_as_fastapis_router_does(tmp_path: Path, root_path: str) -> None:
    hot, routed = application(tmp_path, "hot", hot=True), application(tmp_path, "routed", hot=False)
    taken: list[str] = []
    declined: list[str] = []  # by the planned path: FastAPI's handler answered
    original, original_decline = HotRoutes.serve, HotRoutes.decline

    async def spy(self: HotRoutes, route: APIRoute, *args: Any) -> None:
        taken.append(route.path)
        await original(self, route, *args)

    async def spy_decline(self: HotRoutes, route: APIRoute, *args: Any) -> None:
        declined.append(route.path)
        await original_decline(self, route, *args)

    HotRoutes.serve = spy  # type: ignore[method-assign,assignment]
    HotRoutes.decline = spy_decline  # type: ignore[method-assign,assignment]
    try:
        hot_answers = asyncio.run(answers(hot, root_path))
        hot_taken, hot_declined = list(taken), list(declined)
        taken.clear()
        routed_answers = asyncio.run(answers(routed, root_path))
    finally:
        HotRoutes.serve = original  # type: ignore[method-assign]
        HotRoutes.decline = original_decline  # type: ignore[method-assign]
    assert hot_answers == routed_answers
    assert {status for status, _, _ in hot_answers} >= {200, 201, 202, 401, 403, 404, 405, 413, 415, 422}
    assert counted(hot) == counted(routed)
    assert taken == []  # without the middleware, nothing goes by it
    # Every request to a hot route with its method went by it, nothing else did (413 and 415 are
    # answered before, by BridgeMiddleware: refused on their headers, they are not taken).
    # All but the 405, the trailing slash, the 415, the 413 told by its content-length and /v1/nothing.
    assert len(hot_taken) == 20
    assert set(hot_taken) == {
        "/api/v1/schedulers/register", "/api/v1/schedulers/{scheduler_id}/heartbeat",
        "/api/v1/schedulers/{scheduler_id}/status", "/services/", "/metrics/", "/alerts/", "/v1/events/batch",
    }  # fmt: skip
    # The bodies that do not validate: a status of "nope", a heartbeat body that is not JSON, an event
    # without its fields, an alert's severity of 9; and the chunked body over the limit, which
    # BridgeMiddleware refuses. The 401, 403 and 404 are the endpoints' own.
    assert sorted(hot_declined) == [
        "/alerts/", "/api/v1/schedulers/{scheduler_id}/heartbeat", "/api/v1/schedulers/{scheduler_id}/status",
        "/v1/events/batch", "/v1/events/batch",
    ]  # fmt: skip


def test_no_route_before_the_hot_ones_serves_their_methods(tmp_path: Path) -> None:
    """HotRoutes tries only the hot routes: that is the router's answer only if nothing before them in
    the application could take a POST or PUT."""
    app = application(tmp_path, "order", hot=True)
    included = [getattr(route, "original_router", None) for route in app.router.routes]
    first = included.index(climate.router)
    assert included[first : first + 3] == [climate.router, schedulers.router, sidecar.router]
    for route in app.router.routes[:first]:
        assert not (getattr(route, "methods", None) or set()) & HOT_METHODS, route
    assert all(isinstance(route, APIRoute) for route in climate.router.routes)


def test_an_error_in_a_hot_route_is_the_500_of_fastapis_stack(tmp_path: Path) -> None:
    """An exception no handler takes: the same 500 and count, and raised on for the server to log."""
    registration = {"scheduler_id": "eod", "service_name": "s", "job_name": "j"}

    async def broken(*args: Any) -> None:
        raise RuntimeError("the disk is on fire")

    async def post(app: FastAPI, raise_app_exceptions: bool) -> tuple[int, str, str]:
        transport = httpx.ASGITransport(app, raise_app_exceptions=raise_app_exceptions)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bridge") as http,
        ):
            answer = await http.post(
                "/api/v1/schedulers/register", json=registration, headers={"x-api-key": KEY}
            )
            return answer.status_code, answer.text, answer.headers["content-type"]

    seen = []
    for hot in (True, False):
        app = application(tmp_path, f"broken-{hot}", hot=hot)
        app.state.bridge.accept = broken
        with pytest.raises(RuntimeError, match="on fire"):
            asyncio.run(post(app, raise_app_exceptions=True))
        seen.append((asyncio.run(post(app, raise_app_exceptions=False)), counted(app)))
    assert seen[0] == seen[1]
    assert seen[0][0] == (500, "Internal Server Error", "text/plain; charset=utf-8")
    assert seen[0][1] == {("/api/v1/schedulers/register", "500"): 2}
