"""Field types the three APIs share: names, JSON numbers, RFC 3339 timestamps, and the seeds' lenient base."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict

MAX_FUTURE = timedelta(minutes=10)
NAME = Annotated[str, Field(min_length=1, max_length=200)]

# JSON numbers only. Lax pydantic would take `true` as 1 and "12.5" as 12.5, which the schema refuses.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


def _whole_float(value: Any) -> Any:
    # JSON Schema's "integer" includes 5.0; strict int alone would refuse it.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# The bound sits inside: outside the validator pydantic would publish it as "ge", which no schema tool reads.
NonNegativeInt = Annotated[int, Strict(), Field(ge=0), BeforeValidator(_whole_float)]

# RFC 3339 date-time, the schema's `format: date-time`, which requires a zone. Pydantic alone would also
# take 123 or "123" (seconds since 1970), dates without a time, and times without a zone.
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):  # built in Python, not parsed from JSON
        if value.utcoffset() is None:
            raise ValueError("timestamp must carry a time zone")
        return value
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise ValueError(
            "timestamp must be an RFC 3339 datetime with a time zone (e.g. 2024-01-15T01:00:00Z)"
        )
    return value


def _not_future(value: datetime) -> datetime:
    if value - datetime.now(UTC) > MAX_FUTURE:
        raise ValueError("timestamp is more than 10 minutes in the future")
    return value.astimezone(UTC)


Timestamp = Annotated[
    datetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_not_future),
    Field(description="RFC 3339, with a zone; more than 10 minutes ahead of the bridge's clock is 422"),
]


# A point in time a query reads from (`since`): RFC 3339 with a zone, past or future.
Instant = Annotated[datetime, BeforeValidator(_rfc3339), Field(description="RFC 3339, with a zone")]


class Legacy(BaseModel):
    """The seeds' own bodies: unknown fields are ignored, as the old servers did."""

    model_config = ConfigDict(extra="ignore")
