"""Five-field cron schedules, evaluated in a time zone: what rules need to know about a schedule.

cronsim (Healthchecks' cron library, which follows Debian's cron) parses the expression and lists its runs,
so a schedule means here what it means to cron: a day-of-month or day-of-week field that starts with `*`
makes the two fields AND, otherwise either may match; a fixed-time job whose local time does not exist on
the spring-forward day runs when the clock jumps, and runs once on the fall-back day; `L`, `LW` and `#n`
work as in cronsim.

PromQL cannot evaluate cron, so the generator does it at render time: the longest and shortest gap between
runs (for "overdue" and "runs too often"), and, for a job that runs once a day at a fixed local time on
fixed weekdays, that time and those weekdays. Gaps are measured over one fixed year (2025) so rendering
never depends on today's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

_GAP_YEAR = 2025
_GAP_DAYS = 366 + 7  # a year, and a week into the next so the year's last gap is seen too
# cronsim's own field names (its messages are "Bad <field>"), and what each field accepts.
_FIELDS = {
    "minute": "0-59",
    "hour": "0-23",
    "day-of-month": "1-31 (a day the months have), L or LW",
    "month": "1-12 or JAN-DEC",
    "day-of-week": "0-7 or SUN-SAT, with nL or n#k",
}


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class _Year:
    """What the rules need from the runs of the gap year."""

    shortest: int
    longest: int
    weekdays: frozenset[int]  # 0 = Sunday, as PromQL's day_of_week()
    weekdays_alone: bool  # the run days are exactly the days with one of those weekdays


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
        try:
            parsed = CronSim(expression, datetime(_GAP_YEAR, 1, 1, tzinfo=self.zone))
        except CronSimError as exc:
            raise CronError(_reason(str(exc), fields)) from None
        self.expression = expression
        self.timezone = timezone
        self._fixed_time = (
            (min(parsed.hours), min(parsed.minutes))
            if len(parsed.hours) == 1 and len(parsed.minutes) == 1
            else None
        )
        self._year = _year(expression, timezone)

    @property
    def weekdays(self) -> frozenset[int]:
        """The weekdays it runs on (0 = Sunday); they say which days it runs when daily_time() is set."""
        return self._year.weekdays

    def daily_time(self) -> tuple[int, int] | None:
        """(hour, minute) for a job that runs once a day at that local time, on `weekdays` every week."""
        return self._fixed_time if self._year.weekdays_alone else None

    def gaps(self) -> tuple[int, int]:
        """(shortest, longest) seconds between consecutive runs over one year."""
        return self._year.shortest, self._year.longest

    def fire_times(self, start: date, days: int) -> list[datetime]:
        """Every run on `days` local days from `start`, as aware datetimes in the zone."""
        return _runs(self.expression, self.timezone, start, days)


def _reason(message: str, fields: list[str]) -> str:
    """cronsim's "Bad hour" as the field, its text and what the field accepts."""
    name = message.removeprefix("Bad ")
    if name not in _FIELDS:
        return message
    text = fields[list(_FIELDS).index(name)]
    return f"{name}: {text!r} is not valid: expected {_FIELDS[name]} (or lists, ranges and steps of them)"


def _runs(expression: str, timezone: str, start: date, days: int) -> list[datetime]:
    zone = ZoneInfo(timezone)
    begin = datetime.combine(start, time(), tzinfo=zone)
    end = datetime.combine(start + timedelta(days=days), time(), tzinfo=zone).timestamp()
    runs = []
    # cronsim yields the runs strictly after the moment it is given.
    for run in CronSim(expression, begin - timedelta(seconds=1)):
        if run.timestamp() >= end:
            break
        runs.append(run)
    return runs


@lru_cache(maxsize=64)
def _year(expression: str, timezone: str) -> _Year:
    """The gap year's runs, summarised once per expression: a render asks several times."""
    start = date(_GAP_YEAR, 1, 1)
    runs = _runs(expression, timezone, start, _GAP_DAYS)
    if len(runs) < 2:
        raise CronError("runs less than twice a year; cannot tell when a run is overdue")
    deltas = [int(later.timestamp() - earlier.timestamp()) for earlier, later in pairwise(runs)]
    run_days = {run.date() for run in runs}
    weekdays = frozenset(day.isoweekday() % 7 for day in run_days)
    every_such_day = {
        day
        for day in (start + timedelta(days=offset) for offset in range(_GAP_DAYS))
        if day.isoweekday() % 7 in weekdays
    }
    return _Year(min(deltas), max(deltas), weekdays, run_days == every_such_day)
