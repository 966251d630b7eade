"""Cron as cron means it (cronsim, Debian's cron): the runs, gaps and daily times the scheduler rules use.

Every case names its dates, so nothing here depends on the day the tests run.
"""

from __future__ import annotations

from datetime import date

import pytest

from generator.cron import Cron, CronError

DAY = 86400
HOUR = 3600


def runs(expression: str, timezone: str, start: date, days: int) -> list[str]:
    """The local times of the runs on `days` days from `start`, with their UTC offsets."""
    return [run.isoformat() for run in Cron(expression, timezone).fire_times(start, days)]


def test_a_day_of_month_starting_with_a_star_narrows_the_day_of_week() -> None:
    # Odd days AND Mondays, as cron and cronsim read it (not odd days OR Mondays: 23 runs).
    assert runs("0 0 */2 * 1", "UTC", date(2025, 3, 1), 40) == [
        "2025-03-03T00:00:00+00:00",
        "2025-03-17T00:00:00+00:00",
        "2025-03-31T00:00:00+00:00",
        "2025-04-07T00:00:00+00:00",
    ]


def test_both_day_fields_restricted_means_either_matches() -> None:
    assert runs("0 0 1,15 * 1", "UTC", date(2025, 3, 1), 17) == [
        "2025-03-01T00:00:00+00:00",
        "2025-03-03T00:00:00+00:00",  # Monday
        "2025-03-10T00:00:00+00:00",  # Monday
        "2025-03-15T00:00:00+00:00",
        "2025-03-17T00:00:00+00:00",  # Monday
    ]


def test_a_time_skipped_by_spring_forward_runs_when_the_clock_jumps() -> None:
    # Europe/Berlin, 2025-03-30: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    assert runs("30 2 * * *", "Europe/Berlin", date(2025, 3, 29), 3) == [
        "2025-03-29T02:30:00+01:00",
        "2025-03-30T03:00:00+02:00",
        "2025-03-31T02:30:00+02:00",
    ]
    berlin = Cron("30 2 * * *", "Europe/Berlin")
    assert berlin.gaps() == (DAY - HOUR // 2, DAY + HOUR)  # 23h30 each side of the jump; 25h in October
    assert berlin.daily_time() == (2, 30)


def test_a_fixed_time_in_the_repeated_hour_of_fall_back_runs_once() -> None:
    # Europe/London, 2025-10-26: 02:00 BST becomes 01:00 GMT; 01:30 happens twice, the job runs at the first.
    assert runs("30 1 * * *", "Europe/London", date(2025, 10, 25), 3) == [
        "2025-10-25T01:30:00+01:00",
        "2025-10-26T01:30:00+01:00",
        "2025-10-27T01:30:00+00:00",
    ]
    # 25h across the repeated hour; 23h30 in March, when 01:30 is skipped and the job runs at 02:00 BST.
    assert Cron("30 1 * * *", "Europe/London").gaps() == (DAY - HOUR // 2, DAY + HOUR)


def test_a_job_every_half_hour_runs_through_the_repeated_hour_twice() -> None:
    assert runs("*/30 1 * * *", "Europe/London", date(2025, 10, 26), 1) == [
        "2025-10-26T01:00:00+01:00",
        "2025-10-26T01:30:00+01:00",
        "2025-10-26T01:00:00+00:00",
        "2025-10-26T01:30:00+00:00",
    ]


def test_l_is_the_last_day_of_the_month() -> None:
    assert runs("0 9 L * *", "UTC", date(2025, 1, 1), 120) == [
        "2025-01-31T09:00:00+00:00",
        "2025-02-28T09:00:00+00:00",
        "2025-03-31T09:00:00+00:00",
        "2025-04-30T09:00:00+00:00",
    ]
    last_day = Cron("0 9 L * *", "UTC")
    assert last_day.gaps() == (28 * DAY, 31 * DAY)  # February; then July to August
    assert last_day.daily_time() is None  # not a weekday rule: judged by its gaps


def test_l_after_a_weekday_is_its_last_in_the_month() -> None:
    assert runs("0 18 * * 5L", "UTC", date(2025, 1, 1), 90) == [
        "2025-01-31T18:00:00+00:00",
        "2025-02-28T18:00:00+00:00",
        "2025-03-28T18:00:00+00:00",
    ]


def test_hash_picks_the_nth_weekday_of_the_month() -> None:
    assert runs("0 9 * * MON#2", "UTC", date(2025, 1, 1), 90) == [
        "2025-01-13T09:00:00+00:00",
        "2025-02-10T09:00:00+00:00",
        "2025-03-10T09:00:00+00:00",
    ]
    assert Cron("0 9 * * 1#2", "UTC").daily_time() is None


def test_gaps_account_for_weekends_and_daylight_saving() -> None:
    eod = Cron("30 17 * * 1-5", "Europe/London")
    shortest, longest = eod.gaps()
    assert shortest == DAY  # clocks change on Sundays, when the job does not run
    assert longest == 3 * DAY + HOUR  # Friday to Monday across the autumn change
    assert eod.daily_time() == (17, 30)
    assert eod.weekdays == frozenset({1, 2, 3, 4, 5})
    assert Cron("*/15 * * * *", "UTC").gaps() == (900, 900)
    assert Cron("0 * * * *", "UTC").gaps() == (HOUR, HOUR)


@pytest.mark.parametrize(
    ("expression", "daily_time", "weekdays"),
    [
        ("0 9 * * MON,FRI", (9, 0), {1, 5}),
        ("0 9 * * 7", (9, 0), {0}),  # 7 is Sunday too
        ("0 9 1-31 * *", (9, 0), {0, 1, 2, 3, 4, 5, 6}),  # every day of every month
        ("0 */6 * * *", None, {0, 1, 2, 3, 4, 5, 6}),  # four times a day
        ("0 9 * 1 *", None, {0, 1, 2, 3, 4, 5, 6}),  # every day, but in January only
        ("0 9 1 * *", None, {0, 1, 2, 3, 4, 5, 6}),  # the 1st: its weekday changes
    ],
)
def test_the_local_clock_applies_only_to_one_time_a_day_on_fixed_weekdays(
    expression: str, daily_time: tuple[int, int] | None, weekdays: set[int]
) -> None:
    cron = Cron(expression, "UTC")
    assert cron.daily_time() == daily_time
    assert cron.weekdays == weekdays


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "needs 5 fields"),
        ("0 0 * * * *", "needs 5 fields"),  # cronsim's seconds field is not cron's
        ("60 * * * *", "minute: '60' is not valid: expected 0-59"),
        ("*/0 * * * *", "minute: '*/0' is not valid"),
        ("x * * * *", "minute: 'x' is not valid"),
        ("0 25 * * *", "hour: '25' is not valid: expected 0-23"),
        ("0 0 30 2 *", "day-of-month: '30' is not valid"),  # February has no 30th
        ("0 0 * 13 *", "month: '13' is not valid"),
        ("0 0 * * 1#6", "day-of-week: '1#6' is not valid"),
        ("0 0 29 2 *", "runs less than twice a year"),  # none in 2025
    ],
)
def test_bad_expressions_name_the_field(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message.replace("*", r"\*")):
        Cron(expression, "UTC")


def test_an_unknown_time_zone_is_named() -> None:
    with pytest.raises(CronError, match="unknown time zone 'Europe/Londres'"):
        Cron("0 9 * * *", "Europe/Londres")
