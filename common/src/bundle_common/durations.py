"""Prometheus durations (`500ms`, `1h30m`, `1y`), read and written as prometheus/common's model.Duration.

A duration is whole numbers each followed by a unit, the largest unit first and each unit at most once:
y (always 365d), w (7d), d (24h), h, m, s, ms. `0` alone needs no unit; the empty string, signs, fractions
and anything longer than Go's time.Duration holds (about 292 years) are refused, as Prometheus refuses
them in its flags and config files.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DAY_MS = 86_400_000
UNIT_MILLISECONDS = {
    "y": 365 * _DAY_MS,
    "w": 7 * _DAY_MS,
    "d": _DAY_MS,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1000,
    "ms": 1,
}  # largest first: the only order a duration may name them in
_UNITS = tuple(UNIT_MILLISECONDS)
_MAX_NANOSECONDS = 2**63 - 1  # Go's time.Duration
_MAX_DIGITS = 19  # more digits overflow whatever the unit (and would exceed int()'s digit limit)
_PART = re.compile(r"([0-9]+)([^0-9]*)")  # a number, then everything up to the next digit is its unit


class DurationError(ValueError):
    """Not a Prometheus duration; the message quotes the value and says why."""


def _invalid(text: str, why: str) -> DurationError:
    return DurationError(f"{text!r} is not a duration like 5s, 500ms or 1m ({why})")


def parse_duration(text: str) -> timedelta:
    """`text` as Prometheus reads a duration; DurationError saying what is wrong otherwise."""
    if text == "0":
        return timedelta(0)
    if not text:
        raise _invalid(text, "empty")
    total_ms = 0
    last_rank = -1
    position = 0
    while position < len(text):
        part = _PART.match(text, position)
        if part is None:
            raise _invalid(text, f"expected a whole number at {text[position:]!r}")
        digits, unit = part.groups()
        if unit not in UNIT_MILLISECONDS:
            why = f"unknown unit {unit!r}" if unit else f"no unit after {digits}"
            raise _invalid(text, f"{why}; units are {', '.join(_UNITS)}")
        rank = _UNITS.index(unit)
        if rank <= last_rank:
            raise _invalid(
                text, f"units go from largest to smallest ({', '.join(_UNITS)}), each at most once"
            )
        last_rank = rank
        if len(digits.lstrip("0")) > _MAX_DIGITS:
            raise _invalid(text, "out of range")
        total_ms += int(digits) * UNIT_MILLISECONDS[unit]
        position = part.end()
    if total_ms * 1_000_000 > _MAX_NANOSECONDS:
        raise _invalid(text, "out of range: longer than 292 years")
    return timedelta(milliseconds=total_ms)


def format_duration(value: timedelta) -> str:
    """`value` as Prometheus writes a duration (`90s` -> `1m30s`, `14d` -> `2w`), to the millisecond."""
    microseconds = value // timedelta(microseconds=1)
    sign = "-" if microseconds < 0 else ""
    remaining = abs(microseconds) // 1000  # truncated toward zero, as Go's integer division
    if remaining == 0:
        return "0s"
    parts = []
    for unit, size in UNIT_MILLISECONDS.items():
        if unit in ("y", "w") and remaining % size:
            continue  # years and weeks only when exact: 90d reads better than 12w6d
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
