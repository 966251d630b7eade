"""UTC offsets of a time zone as a PromQL expression, for rules that need the local time of day.

PromQL's clock functions (hour(), day_of_week()) work in UTC only. The generator writes each zone's
offset as a piecewise function of time() with every transition from 2025 to 2037 taken from the tz
database at render time. Fixed years keep rendering deterministic; re-render before 2037.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

FIRST_YEAR, LAST_YEAR = 2025, 2037
OFFSET_METRIC = "bundle:timezone_offset_seconds"


def _offset(zone: ZoneInfo, at: datetime) -> int:
    delta = at.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta else 0


def transitions(name: str) -> tuple[int, list[tuple[int, int]]]:
    """(offset before FIRST_YEAR, [(unix time, offset from then on), ...])."""
    zone = ZoneInfo(name)
    moment = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    end = datetime(LAST_YEAR, 1, 1, tzinfo=UTC)
    first = current = _offset(zone, moment)
    changes: list[tuple[int, int]] = []
    step = timedelta(hours=1)
    while moment < end:
        following = moment + step
        offset = _offset(zone, following)
        if offset != current:
            # Zones change on whole minutes; narrow the hour down to the minute.
            low = moment
            while following - low > timedelta(minutes=1):
                middle = low + (following - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if _offset(zone, middle) == current:
                    low = middle
                else:
                    following = middle
            changes.append((int(following.timestamp()), offset))
            current = offset
        moment += step
    return first, changes


def offset_expression(name: str) -> str:
    first, changes = transitions(name)
    if not changes:
        return f"vector({first})"
    now = "vector(time())"
    parts = [f"vector({first}) and on () ({now} < {changes[0][0]})"]
    for (start, offset), following in zip(changes, [*changes[1:], None], strict=True):
        window = f"{now} >= {start}" + (f" < {following[0]}" if following else "")
        parts.append(f"vector({offset}) and on () ({window})")
    return "\n  or ".join(parts)
