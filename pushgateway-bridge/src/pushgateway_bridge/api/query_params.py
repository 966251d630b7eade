"""One value per query parameter. Starlette keeps every value of a repeated key and FastAPI reads the last
one for a parameter declared as a single value, so `?service=a&service=b` would quietly mean `b`: a filter
given twice is refused instead, naming the parameter (a 422 like any other bad query)."""

from __future__ import annotations

from collections import Counter

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def _names(dependant: Dependant) -> frozenset[str]:
    own = {param.alias for param in dependant.query_params}
    return frozenset(own.union(*(_names(sub) for sub in dependant.dependencies)))


_DECLARED: dict[int, frozenset[str]] = {}  # by id(): routes are not hashable, and live as long as the app


def _declared(route: APIRoute) -> frozenset[str]:
    """The route's query parameters, by the name a client sends (none of the bridge's takes a list)."""
    found = _DECLARED.get(id(route))
    if found is None:
        found = _DECLARED[id(route)] = _names(route.dependant)
    return found


async def one_value_each(request: Request) -> None:
    """A dependency of every router with query parameters (main.py)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = sorted(key for key, count in counts.items() if count > 1 and key in _declared(route))
    if repeated:
        errors = [
            {"loc": ("query", key), "msg": f"given {counts[key]} times: give it once", "type": "value_error"}
            for key in repeated
        ]
        raise RequestValidationError(errors)
