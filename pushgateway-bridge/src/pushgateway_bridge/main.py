"""create_app(settings): the FastAPI application; its lifespan runs the forwarder threads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from pushgateway_bridge import __version__
from pushgateway_bridge.api import errors
from pushgateway_bridge.api.hot_routes import HotApp, HotRoutes
from pushgateway_bridge.api.middleware import BridgeMiddleware, RequestAccounting
from pushgateway_bridge.api.query_params import one_value_each
from pushgateway_bridge.api.routes import (
    alertmanager_receiver,
    alerts,
    climate,
    health,
    logs,
    monitoring,
    notifications,
    notify,
    schedulers,
    service_discovery,
    sidecar,
    traces,
)
from pushgateway_bridge.api.routes.notifications_ws import build_router
from pushgateway_bridge.bridge import Bridge
from pushgateway_bridge.settings import Settings


def create_app(settings: Settings) -> HotApp:
    bridge = Bridge(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bridge.start()
        try:
            yield
        finally:
            bridge.stop()

    app = HotApp(
        title="pushgateway-bridge",
        version=__version__,
        description="The seeds' monitoring APIs into Pushgateway, Alertmanager and Loki.",
        lifespan=lifespan,
        redirect_slashes=False,
        # The bridge's request metrics are its own (api/middleware.py). FastAPI's OpenTelemetry telemetry,
        # on by default, looked up the global providers on every request: 6 % of a heartbeat's CPU.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.bridge = bridge
    errors.install(app, bridge)
    hot = (climate.router, schedulers.router, sidecar.router)  # included first: see api/hot_routes.py
    for router in (*hot, *(m.router for m in (health, notify, alertmanager_receiver, service_discovery))):
        app.include_router(router)
    for module in (notifications, alerts, logs, traces, monitoring):  # the routers with query parameters
        app.include_router(module.router, dependencies=[Depends(one_value_each)])

    def authorize(user_id: str, x_api_key: str | None, authorization: str | None, token: str | None) -> None:
        # Browsers cannot set headers on a WebSocket: the key may come as ?token=.
        bridge.auth.authenticate(x_api_key or token, authorization).require_user(user_id)

    app.include_router(build_router(bridge.hub, bridge.notifications.replay, authorize))
    accounting = RequestAccounting(bridge.metrics, settings.max_body_bytes)
    app.add_middleware(BridgeMiddleware, accounting=accounting)
    app.hot = HotRoutes(app, hot, accounting)  # counted and limited as BridgeMiddleware does
    # The batch limit is a setting, so the model cannot carry it: the document is built once, here.
    batch = app.openapi()["components"]["schemas"]["SidecarBatch"]["properties"]["events"]
    batch["maxItems"] = settings.max_batch_events
    return app
