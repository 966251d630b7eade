"""Dependencies of the routes, named as type aliases.

All are `async def`: a sync dependency would cost every request a hop through the threadpool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import APIKeyHeader
from fastapi.security.base import SecurityBase

from pushgateway_bridge.auth import Principal
from pushgateway_bridge.bridge import Bridge


async def get_bridge(request: Request) -> Bridge:
    bridge: Bridge = request.app.state.bridge
    return bridge


BridgeDep = Annotated[Bridge, Depends(get_bridge)]


class BearerHeader(SecurityBase):
    """`Authorization: Bearer <key>` in the OpenAPI document. It hands the raw header to the authenticator,
    which says what is wrong with a malformed one (FastAPI's HTTPBearer would drop it silently)."""

    name = "authorization"

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description="An API key of the bridge, as the climate seed sends it")
        self.scheme_name = "bearer"

    async def __call__(self, request: Request) -> str | None:
        return request.headers.get(self.name)


api_key_header = APIKeyHeader(
    name="x-api-key",
    scheme_name="apiKey",
    description="An API key of the bridge, as the scheduler seed sends it",
    auto_error=False,
)
bearer_header = BearerHeader()


async def get_principal(
    bridge: BridgeDep,
    x_api_key: Annotated[str | None, Security(api_key_header)],
    authorization: Annotated[str | None, Security(bearer_header)],
) -> Principal:
    """The caller, from `x-api-key` or `Authorization: Bearer`; raises AuthError (401/429)."""
    return bridge.auth.authenticate(x_api_key, authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
