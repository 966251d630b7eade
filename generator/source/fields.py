"""The value types every section of monitoring.yml uses: durations, regexes, label names and values."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bundle_common.durations import parse_duration

Severity = Literal["info", "warning", "critical"]

_SECOND = timedelta(seconds=1)


def seconds(duration: str) -> int:
    """A Prometheus duration in whole seconds, which is what the rules compare and add."""
    value = parse_duration(duration)  # a DurationError is a ValueError: the model reports it under the key
    if value % _SECOND:
        raise ValueError(f"{duration!r} is not a whole number of seconds")
    return value // _SECOND


def _duration(value: str) -> str:
    if seconds(value) <= 0:
        raise ValueError("must be longer than 0s")
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


def _label_value(value: str) -> str:
    if '"' in value or "\\" in value or "\n" in value:
        raise ValueError('must not contain ", \\ or newlines')
    return value


Duration = Annotated[str, AfterValidator(_duration)]
Regex = Annotated[str, AfterValidator(_regex)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Matcher = Annotated[str, Field(pattern=r'^[a-zA-Z_][a-zA-Z0-9_]*(=|!=|=~|!~)".*"$')]
