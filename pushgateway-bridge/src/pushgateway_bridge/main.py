"""create_app(settings): the FastAPI application; its lifespan runs the forwarder threads."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pushgateway_bridge import __version__
from pushgateway_bridge.api.middleware import BridgeMiddleware
from pushgateway_bridge.api.routes import climate, health, notify, schedulers, sidecar
from pushgateway_bridge.bridge import Bridge
from pushgateway_bridge.core.auth import AuthError
from pushgateway_bridge.core.config import Settings
from pushgateway_bridge.storage.base import SpoolFull


def create_app(settings: Settings) -> FastAPI:
    bridge = Bridge(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bridge.start()
        try:
            yield
        finally:
            bridge.stop()

    app = FastAPI(
        title="pushgateway-bridge",
        version=__version__,
        description="The seeds' monitoring APIs into Pushgateway, Alertmanager and Loki.",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.bridge = bridge

    @app.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> JSONResponse:
        bridge.metrics.rejected.labels(
            {401: "unauthorized", 403: "forbidden", 429: "rate_limited"}[exc.status]
        ).inc()
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="pushgateway-bridge"'}
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    @app.exception_handler(SpoolFull)
    async def spool_full(request: Request, exc: SpoolFull) -> JSONResponse:
        retry = max(1, math.ceil(settings.flush_interval_seconds * 5))
        return JSONResponse(
            {"detail": f"spool full, retry later: {exc}"},
            status_code=503,
            headers={"Retry-After": str(retry)},
        )

    for module in (climate, schedulers, sidecar, health, notify):
        app.include_router(module.router)
    app.add_middleware(BridgeMiddleware, metrics=bridge.metrics, max_body_bytes=settings.max_body_bytes)
    return app
