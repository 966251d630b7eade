"""Exception handlers: refused keys (401/403/429), a full spool (503), 405 with every method of a path,
and 422s that can always be written."""

from __future__ import annotations

import json
import math

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pushgateway_bridge.auth import AuthError
from pushgateway_bridge.bridge import Bridge
from pushgateway_bridge.storage.base import SpoolFull, StorageUnavailable

# The methods `Allow` can list, in the order it lists them.
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route answers on this request's path.

    Starlette's 405 lists the methods of the first route whose path matched, so `Allow` missed DELETE of
    `/api/v1/schedulers/{id}` (its GET comes first). Asking every route about every method uses only the
    public `matches()`, whatever FastAPI's router nests inside."""
    return [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in app.routes)
    ]


def install(app: FastAPI, bridge: Bridge) -> None:
    @app.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> JSONResponse:
        bridge.metrics.rejected.labels(
            {401: "unauthorized", 403: "forbidden", 429: "rate_limited"}[exc.status]
        ).inc()
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="pushgateway-bridge"'}
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    def retry_later(what: str, exc: Exception) -> JSONResponse:
        retry = max(1, math.ceil(bridge.settings.flush_interval_seconds * 5))
        return JSONResponse(
            {"detail": f"{what}, retry later: {exc}"},
            status_code=503,
            headers={"Retry-After": str(retry)},
        )

    @app.exception_handler(SpoolFull)
    async def spool_full(request: Request, exc: SpoolFull) -> JSONResponse:
        return retry_later("spool full", exc)

    @app.exception_handler(StorageUnavailable)
    async def storage_unavailable(request: Request, exc: StorageUnavailable) -> JSONResponse:
        return retry_later("storage unavailable", exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # The 422 repeats the input. JSON may carry a lone surrogate (`"\ud800"`), which no UTF-8 text can
        # hold: FastAPI's own handler then fails with a 500. ASCII escapes write every string.
        body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            methods = allowed_methods(app, request)
            return JSONResponse(
                {"detail": f"method {request.method} not allowed; this path answers {', '.join(methods)}"},
                status_code=405,
                headers={"Allow": ", ".join(methods)},
            )
        return await http_exception_handler(request, exc)
