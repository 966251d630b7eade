"""The routes under load (climate, scheduler, sidecar writes), answered before FastAPI's middleware stack.

FastAPI's router wraps every included router and matches a request twice, through each route before the
one it wants: for a heartbeat that was a third of the request's CPU (bench/README.md), more than the
endpoint itself. Then each layer of the middleware stack (uvicorn's proxy headers aside: six of
Starlette's and FastAPI's, and the bridge's own) wraps the request's `send` once more, about a tenth of
a heartbeat's CPU again. So `HotApp`, the bridge's FastAPI application, first hands a POST or PUT to
`HotRoutes`, which tries only the hot routes' own path patterns, in the order the router would, and
answers a full match itself where the route's planned path (api/fast_route.py) accepts it: counted and
limited as BridgeMiddleware does (api/middleware.py, the same RequestAccounting), behind the
application's exception handlers, with the 500 ServerErrorMiddleware would give.

Anything else goes, untouched or with its body replayed, to the full application: a request refused on
its headers (413, 415), a body over the limit, one the planned path declines (it does not validate), a
method a path does not serve (405), any other route. So every refusal and its wording stay FastAPI's.

The hot routers must be the first ones the application includes, so that no earlier route could match
their requests (main.py includes them first; tests/bridge/test_hot_routes.py holds both to it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette._utils import get_route_path, is_async_callable  # get_route_path: what Route.matches sees
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from pushgateway_bridge.api.fast_route import Planned
from pushgateway_bridge.api.middleware import RequestAccounting

HOT_METHODS = frozenset({"POST", "PUT"})
Handler = Any  # an exception handler: (Request, Exception) -> Response, async or not


class HotApp(FastAPI):
    """FastAPI, with the hot routes' requests answered before its middleware stack (main.py sets `hot`)."""

    hot: HotRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.hot
        if hot is not None and scope["type"] == "http" and scope["method"] in HOT_METHODS:
            if self.root_path:  # as FastAPI's own __call__
                scope["root_path"] = self.root_path
            await hot(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def full(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request through FastAPI's middleware stack and router, as without `hot`."""
        await super().__call__(scope, receive, send)


class HotRoutes:
    def __init__(
        self, application: HotApp, routers: Sequence[APIRouter], accounting: RequestAccounting
    ) -> None:
        self.application = application
        self.accounting = accounting
        # Each route with the literal start of its path: a path that does not start so cannot match, and
        # str.startswith costs a small part of the pattern match it saves.
        routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
        self.routes: dict[str, tuple[tuple[str, APIRoute], ...]] = {
            method: tuple(
                (route.path.split("{", 1)[0], route) for route in routes if method in (route.methods or ())
            )
            for method in HOT_METHODS
        }
        # The handlers as Starlette's ExceptionMiddleware and ServerErrorMiddleware take them from FastAPI.
        self.status_handlers: dict[int, Handler] = {}
        self.exception_handlers: dict[type[BaseException], Handler] = {}
        self.error_handler: Handler | None = None
        for key, handler in application.exception_handlers.items():
            if key in (500, Exception):
                self.error_handler = handler
            elif isinstance(key, int):
                self.status_handlers[key] = handler
            else:
                self.exception_handlers[key] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = get_route_path(scope)  # what the patterns match: the path without a root_path
        for start, route in self.routes[scope["method"]]:
            if not path.startswith(start):
                continue
            # Starlette's match (pattern, converters, method): APIRoute's own first looks for the
            # context FastAPI's router would have put in the scope, of which there is none here.
            match, child_scope = Route.matches(route, scope)
            if match is Match.FULL:
                if getattr(route, "planned", None) is not None and self.accounting.refuse(scope) is None:
                    await self.serve(route, scope, child_scope, receive, send)
                    return
                break
        await self.application.full(scope, receive, send)

    async def serve(self, route: APIRoute, came: Scope, matched: Scope, receive: Receive, send: Send) -> None:
        """The route's planned answer, counted as BridgeMiddleware counts; FastAPI's if it declines.
        `came` is the request's scope, `matched` what the router would add to it."""
        started = time.perf_counter()
        messages, whole = await self.read(receive)
        if not whole:  # over the limit, or the client went away: BridgeMiddleware's to answer
            await self.decline(route, came, again(messages, receive), send)
            return
        planned: Planned = getattr(route, "planned")  # noqa: B009 (set on FastRoute, not on APIRoute)
        scope = {"router": self.application.router, **came, **matched}
        scope["app"], scope["route"] = self.application, route
        body = messages[0]["body"] if len(messages) == 1 else b"".join(m.get("body", b"") for m in messages)
        request = Request(scope, again(messages, receive), send)
        try:
            response = await self.answer(planned, request, body)
        except Exception as exc:  # as ServerErrorMiddleware: a 500, and raised for the server to log
            self.accounting.observe(route.path, 500, started)
            if self.error_handler is None:
                response = PlainTextResponse("Internal Server Error", status_code=500)
            else:
                response = await call(self.error_handler, request, exc)
            await response(scope, receive, send)
            raise
        if response is None:
            await self.decline(route, came, again(messages, receive), send)
            return
        try:
            await response(scope, receive, send)
        finally:
            self.accounting.observe(route.path, response.status_code, started)

    async def answer(self, planned: Planned, request: Request, body: bytes) -> Response | None:
        """The planned path's answer, or the exception handler's; None where FastAPI's must answer."""
        try:
            return await planned(request, body)
        except Exception as exc:
            handler = self.handler_for(exc)
            if handler is None:
                raise
            return await call(handler, request, exc)

    async def decline(self, route: APIRoute, came: Scope, receive: Receive, send: Send) -> None:
        """The request, with `route` matched, to FastAPI's stack, which counts it: routed anew from the
        scope as it came."""
        await self.application.full(came, receive, send)

    async def read(self, receive: Receive) -> tuple[list[Message], bool]:
        """The request's messages up to its whole body, and whether they are that (not over the limit,
        no disconnect first)."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages, False
            size += len(message.get("body", b""))
            if size > self.accounting.max_body:
                return messages, False
            if not message.get("more_body", False):
                return messages, True

    def handler_for(self, exc: Exception) -> Handler | None:
        """The handler Starlette's ExceptionMiddleware would call for `exc`, or None."""
        if isinstance(exc, HTTPException) and exc.status_code in self.status_handlers:
            return self.status_handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in self.exception_handlers:
                return self.exception_handlers[cls]
        return None


async def call(handler: Handler, request: Request, exc: Exception) -> Response:
    if is_async_callable(handler):
        response: Response = await handler(request, exc)
    else:
        response = await run_in_threadpool(handler, request, exc)
    return response


def again(messages: list[Message], receive: Receive) -> Receive:
    """A receive giving the request's `messages` read so far, then what `receive` gives."""
    pending = messages[::-1]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
