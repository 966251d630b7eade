"""The routes under load (climate, scheduler, sidecar writes) found without FastAPI's router.

FastAPI's router wraps every included router and matches a request twice, through each route before the
one it wants: for a heartbeat that was a third of the request's CPU (bench/README.md), more than the
endpoint itself. This middleware, inside BridgeMiddleware (request metrics, 413, 415), tries only the
hot routes' own path patterns, in the order the router would, and hands a full match to that route as
the router does, behind the same exception handlers (ExceptionMiddleware, so an HTTPException is answered
exactly as it is on any route) and FastAPI's exit stack. Anything else, a method a path does not serve
(405) included, goes to the application unchanged.

The hot routers must be the first ones the application includes, so that no earlier route could match
their requests (main.py includes them first; tests/bridge/test_hot_routes.py holds both to it).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.routing import APIRoute, APIRouter
from starlette._utils import get_route_path  # what Route.matches matches against
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HOT_METHODS = frozenset({"POST", "PUT"})


class HotRoutes:
    def __init__(self, app: ASGIApp, application: FastAPI, routers: Sequence[APIRouter]) -> None:
        self.app = app
        self.router = application.router
        # Each route with the literal start of its path: a path that does not start so cannot match, and
        # str.startswith costs a small part of the pattern match it saves.
        routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
        self.routes: dict[str, tuple[tuple[str, APIRoute], ...]] = {
            method: tuple(
                (route.path.split("{", 1)[0], route) for route in routes if method in (route.methods or ())
            )
            for method in HOT_METHODS
        }
        # The handlers FastAPI gives its ExceptionMiddleware: all but 500's (ServerErrorMiddleware's).
        handlers = {
            key: handler
            for key, handler in application.exception_handlers.items()
            if key not in (500, Exception)
        }
        self.selected = ExceptionMiddleware(self.handle, handlers=handlers)
        self.standard = AsyncExitStackMiddleware(self.route_handle)  # FastAPI's handler needs its stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in HOT_METHODS:
            path = get_route_path(scope)  # what the patterns match: the path without a root_path
            for start, route in self.routes[scope["method"]]:
                if not path.startswith(start):
                    continue
                # Starlette's match (pattern, converters, method): APIRoute's own first looks for the
                # context FastAPI's router would have put in the scope, of which there is none here.
                match, child_scope = Route.matches(route, scope)
                if match is Match.FULL:
                    child_scope["route"] = route
                    scope.update(child_scope)  # path_params, endpoint, route: as the router sets them
                    scope.setdefault("router", self.router)
                    await self.selected(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The route's planned path where it answers (api/fast_route.py), the rest of the way the router
        goes: skipped are the three exit stacks, the Request and the exception wrapper that the router's
        way sets up for FastAPI's handler, about a tenth of a heartbeat's CPU."""
        planned = getattr(scope["route"], "planned", None)
        if planned is not None:
            request = Request(scope, receive, send)
            body = await request.body()  # kept by the Request; replayed to FastAPI's handler if need be
            response = await planned(request)
            if response is not None:
                await response(scope, receive, send)
                return
            receive = replay(body, receive)  # FastAPI's handler reads the body once more
        await self.standard(scope, receive, send)

    @staticmethod
    async def route_handle(scope: Scope, receive: Receive, send: Send) -> None:
        route: APIRoute = scope["route"]
        await route.handle(scope, receive, send)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive giving `body` first, then what `receive` gives (a disconnect, while the answer is sent)."""
    given = False

    async def again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again
