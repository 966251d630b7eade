"""Compact JSON text on the hot path: pydantic-core's to_json, 3x faster than json.dumps."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import PydanticSerializationError, to_json


class Encoded(str):
    """JSON text encoded already (by pydantic-core, from validated models): `compact` gives it as it is."""

    __slots__ = ()


def compact(value: Any) -> str:
    """The JSON json.dumps(value, default=str, separators=(",", ":")) gives, with non-ASCII characters
    as UTF-8 rather than \\u escapes. Strings UTF-8 cannot hold (lone surrogates, which a JSON body may
    carry as escapes) go through json.dumps, which escapes them."""
    if type(value) is Encoded:
        return value
    return compact_bytes(value).decode()


def compact_bytes(value: Any) -> bytes:
    """`compact(value)` as UTF-8."""
    try:
        return to_json(value, fallback=str)
    except PydanticSerializationError:
        return json.dumps(value, default=str, separators=(",", ":")).encode()
