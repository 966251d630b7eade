"""Dependencies of the routes, named as type aliases.

Both are `async def`: a sync dependency would cost every request a hop through the threadpool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from pushgateway_bridge.bridge import Bridge
from pushgateway_bridge.core.auth import Principal


async def get_bridge(request: Request) -> Bridge:
    bridge: Bridge = request.app.state.bridge
    return bridge


BridgeDep = Annotated[Bridge, Depends(get_bridge)]


async def get_principal(
    bridge: BridgeDep,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    """The caller, from `x-api-key` or `Authorization: Bearer`; raises AuthError (401/429)."""
    return bridge.auth.authenticate(x_api_key, authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
