"""Every answer a route can give besides its success, described once; each route names the ones it gives.

The middleware (400 is FastAPI's, 413, 415), the key check (401, 403, 429), the spool (503) and the
validation (422) answer for every route alike, so their descriptions live here and not beside each route.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Error(BaseModel):
    """A refusal: `detail` says what was wrong, naming the key, the field or the limit."""

    detail: str


class FieldError(BaseModel):
    model_config = ConfigDict(extra="allow")  # pydantic adds `input` and `ctx`

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(BaseModel):
    """Bad input: one entry per field, `loc` naming it (`["body", "status"]`) and `msg` the reason."""

    detail: list[FieldError]


def _retry_after(what: str) -> dict[str, Any]:
    return {
        "Retry-After": {
            "description": f"Seconds to wait before {what}",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    }


ANSWERS: dict[int, dict[str, Any]] = {
    400: {"model": Error, "description": "The body cannot be read as JSON text (e.g. it is not UTF-8)"},
    401: {
        "model": Error,
        "description": "No API key, an unknown one, or an `Authorization` header that is not `Bearer <key>`",
        "headers": {
            "WWW-Authenticate": {"description": "`Bearer`", "required": True, "schema": {"type": "string"}}
        },
    },
    403: {
        "model": Error,
        "description": "The key's scope does not cover this service, pipeline, app, scheduler or relay",
    },
    404: {"model": Error, "description": "Not found"},
    409: {"model": Error, "description": "The resource is defined elsewhere; `detail` says where"},
    413: {"model": Error, "description": "The body is larger than `max_body_bytes`"},
    415: {"model": Error, "description": "The body's Content-Type is not `application/json`"},
    422: {"model": ValidationErrors, "description": "A field is missing or invalid"},
    429: {
        "model": Error,
        "description": "The key's `rate_per_second` is exceeded",
        "headers": _retry_after("the next request"),
    },
    503: {
        "model": Error,
        "description": "The spool of undelivered events is full (`spool_max_events`)",
        "headers": _retry_after("retrying"),
    },
}

KEYED = (401, 429)  # any route that reads the caller's key
SCOPED = (*KEYED, 403)  # ... and checks its scope
BODY = (400, 413, 415, 422)  # any route that reads a JSON body
WRITE = (*SCOPED, *BODY, 503)  # a scoped write with a body, committed to the spool


def answers(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: the shared answers for `codes`, with route-specific descriptions
    given as `_404="scheduler not registered"` (a keyword cannot be a number)."""
    found: dict[int | str, dict[str, Any]] = {}
    for code in sorted(set(codes)):
        answer = dict(ANSWERS[code])
        description = descriptions.pop(f"_{code}", None)
        if description is not None:
            answer["description"] = description
        found[code] = answer
    if descriptions:
        raise TypeError(f"descriptions for codes not answered: {sorted(descriptions)}")
    return found
