"""The hot routes' requests, decoded in one pass: the body validated from its bytes by pydantic-core
(`model_validate_json`), and the route's few dependencies (the bridge, the caller) resolved directly.

FastAPI's own handler parses the body with json.loads, validates the objects again with validate_python,
then solves every dependency anew; on a heartbeat that was most of the request's cost (bench/README.md).

Only a request this path accepts in full is answered here. Anything else (a body that does not validate,
an empty or non-JSON body, a path parameter out of its pattern) goes, untouched, to FastAPI's handler,
which answers exactly as before: so every refusal and its wording stay FastAPI's, and this path accepts
nothing FastAPI's would refuse (tests/bridge/test_fast_route.py compares the two on awkward bodies).
The caller is authenticated only after everything else passed, so a request is never counted against
its key's rate limit twice.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import fastapi.routing
from fastapi import Request, Response
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from pushgateway_bridge.api.deps import api_key_header, bearer_header, get_bridge, get_principal

ModelT = TypeVar("ModelT", bound=BaseModel)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class Plan:
    """How to call one endpoint without FastAPI's dependency solving: its parameters by kind."""

    path: tuple[ModelField, ...]
    body_name: str | None = None
    body_model: type[BaseModel] | None = None
    body_optional: bool = False  # no body (or an empty one) is the default None
    bridge_name: str | None = None
    principal_name: str | None = None
    request_name: str | None = None

    async def arguments(self, request: Request, body: bytes) -> dict[str, Any] | None:
        """The endpoint's arguments from the request and its `body`, or None: let FastAPI's handler
        answer this request."""
        values: dict[str, Any] = {}
        headers = first_values(request.scope["headers"])
        for field in self.path:
            value, errors = field.validate(request.path_params.get(field.alias), loc=("path", field.alias))
            if errors:
                return None
            values[field.name] = value
        if self.body_name is not None:
            assert self.body_model is not None
            if not body:
                if not self.body_optional:
                    return None
                values[self.body_name] = None
            else:
                # FastAPI's own test of the content type is more general; the common case only is taken.
                if headers.get(CONTENT_TYPE) != "application/json":
                    return None
                values[self.body_name] = decode(self.body_model, body)
                if values[self.body_name] is None:
                    return None
        if self.request_name is not None:
            values[self.request_name] = request
        if self.bridge_name is not None or self.principal_name is not None:
            bridge = await get_bridge(request)
            if self.bridge_name is not None:
                values[self.bridge_name] = bridge
            if self.principal_name is not None:
                # What api_key_header and bearer_header give FastAPI's handler: an empty key is none.
                x_api_key, authorization = headers.get(API_KEY) or None, headers.get(AUTHORIZATION)
                values[self.principal_name] = await get_principal(bridge, x_api_key, authorization)
        return values


CONTENT_TYPE = b"content-type"
API_KEY = api_key_header.model.name.lower().encode()
AUTHORIZATION = bearer_header.name.encode()
HEADERS = frozenset({CONTENT_TYPE, API_KEY, AUTHORIZATION})


def first_values(raw: list[tuple[bytes, bytes]]) -> dict[bytes, str]:
    """The first value of each of HEADERS the request has, as Starlette's `request.headers.get` gives it:
    one pass, where three lookups each went through all headers (and a KeyError for each one missing)."""
    found: dict[bytes, str] = {}
    for name, value in raw:
        if name in HEADERS and name not in found:
            found[name] = value.decode("latin-1")
    return found


def decode(model: type[ModelT], body: bytes) -> ModelT | None:
    """The body as `model`, validated from its bytes; None if it does not validate (or is not JSON)."""
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


def plan(dependant: Dependant) -> Plan | None:
    """A Plan for an endpoint whose parameters are all of the kinds above; None for any other."""
    if (
        dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or len(dependant.body_params) > 1
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
    ):
        return None
    names: dict[str, str] = {}
    for sub in dependant.dependencies:
        if sub.name is None or sub.call not in (get_bridge, get_principal):
            return None
        names["bridge" if sub.call is get_bridge else "principal"] = sub.name
    body: dict[str, Any] = {}
    if dependant.body_params:
        field = dependant.body_params[0]
        model, optional = _model_of(field.field_info.annotation)
        if model is None or (optional and field.field_info.is_required()):
            return None
        body = {"body_name": field.name, "body_model": model, "body_optional": optional}
    return Plan(
        path=tuple(dependant.path_params),
        bridge_name=names.get("bridge"),
        principal_name=names.get("principal"),
        request_name=dependant.request_param_name,
        **body,
    )


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model of `Model` or `Model | None`, and whether None is allowed."""
    optional = False
    if typing.get_origin(annotation) in (typing.Union, type(int | None)):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        annotation = members[0] if len(members) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, optional
    return None, False


Planned = Callable[[Request, bytes | None], Awaitable[Response | None]]


class FastRoute(APIRoute):
    """An APIRoute answering the requests its Plan accepts without FastAPI's body parsing and dependency
    solving; the others, and every route it cannot plan, through FastAPI's handler as usual."""

    # The route's own planned path (None if it has none): the endpoint's answer, or None where FastAPI's
    # handler must answer. For a caller that, like api/hot_routes.py, goes to FastAPI's only when need be.
    planned: Planned | None = None

    def get_route_handler(self) -> Handler:
        standard = super().get_route_handler()
        # A router's include can add dependencies (FastAPI then builds this handler within that context):
        # planned from the dependant FastAPI's handler uses, an unknown one means no fast path.
        context = getattr(fastapi.routing, "_effective_route_context_var", None)
        effective = context.get() if context is not None else None
        dependant = self.dependant
        if effective is not None and getattr(effective, "original_route", None) is self:
            dependant = effective.dependant
        route_plan = plan(dependant) if dependant.call is self.endpoint else None
        if route_plan is None:
            return standard
        endpoint: Callable[..., Awaitable[Response]] = self.endpoint

        async def planned(request: Request, body: bytes | None = None) -> Response | None:
            """`body` where the caller has read it already (api/hot_routes.py)."""
            body = await request.body() if body is None else body
            arguments = await route_plan.arguments(request, body)
            return None if arguments is None else await endpoint(**arguments)

        async def handler(request: Request) -> Response:
            response = await planned(request)
            return await standard(request) if response is None else response

        if effective is None:  # the route's own handler, not one of an include's
            self.planned = planned
        return handler
