"""Five-field cron schedules, evaluated in a time zone: what rules need to know about a schedule.

PromQL cannot evaluate cron, so the generator does it at render time: the longest and shortest gap between
runs (for "overdue" and "runs too often"), and, for a job that runs once a day, its local time and weekdays.
Gaps are measured over one fixed year (2025) so rendering never depends on today's date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NAMES = {
    "month": {m: i for i, m in enumerate(_MONTHS, 1)},
    "day_of_week": {d: i for i, d in enumerate(_WEEKDAYS)},
}
_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day_of_month", 1, 31),
    ("month", 1, 12),
    ("day_of_week", 0, 7),
)
_GAP_YEAR = 2025


class CronError(ValueError):
    pass


def _value(text: str, field: str) -> int:
    named = _NAMES.get(field, {}).get(text.upper())
    if named is not None:
        return named
    if not text.isdigit():
        raise CronError(f"{field}: {text!r} is not a number")
    return int(text)


def _parse_field(text: str, field: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = _value(step_text, field) if step_text else 1
        if step < 1:
            raise CronError(f"{field}: step must be at least 1")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _value(first, field), _value(last, field)
        else:
            start = _value(body, field)
            end = high if step_text else start
        if not low <= start <= end <= high:
            raise CronError(f"{field}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


class Cron:
    """A cron expression in a time zone (IANA name)."""

    def __init__(self, expression: str, timezone: str) -> None:
        fields = expression.split()
        if len(fields) != len(_FIELDS):
            raise CronError(f"{expression!r} needs 5 fields (minute hour day-of-month month day-of-week)")
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CronError(f"unknown time zone {timezone!r}") from None
        parsed = [_parse_field(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True)]
        self.minutes, self.hours, self.days, self.months, weekdays = parsed
        self.weekdays = frozenset(day % 7 for day in weekdays)  # 7 is Sunday too
        self._dom_restricted = fields[2] != "*"
        self._dow_restricted = fields[4] != "*"

    def runs_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self._dom_restricted and self._dow_restricted:
            return dom or dow  # cron's rule: either restriction matches
        return dom and dow

    def daily_time(self) -> tuple[int, int] | None:
        """(hour, minute) when the job runs at most once a day at one fixed time."""
        if len(self.hours) == 1 and len(self.minutes) == 1 and not self._dom_restricted:
            return next(iter(self.hours)), next(iter(self.minutes))
        return None

    def fire_times(self, start: date, days: int) -> list[float]:
        """Unix times of every run on `days` local days from `start`."""
        times = []
        for offset in range(days):
            day = start + timedelta(days=offset)
            if not self.runs_on(day):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)
                    times.append(local.astimezone(UTC).timestamp())
        return sorted(times)

    def gaps(self) -> tuple[int, int]:
        """(shortest, longest) seconds between consecutive runs over one year."""
        times = self.fire_times(date(_GAP_YEAR, 1, 1), 366 + 7)
        if len(times) < 2:
            raise CronError("runs less than twice a year; cannot tell when a run is overdue")
        deltas = [int(later - earlier) for earlier, later in pairwise(times)]
        return min(deltas), max(deltas)
