"""bundle_common.durations against prometheus/common's model/time_test.go (TestParseDuration,
TestParseBadDuration, TestDuration_UnmarshalJSON's 289y), plus the messages a user reads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bundle_common.durations import DurationError, format_duration, parse_duration

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

# (input, value, what Duration.String() prints; None: the input itself)
PARSE_CASES = [
    ("0", timedelta(0), "0s"),
    ("0w", timedelta(0), "0s"),
    ("0s", timedelta(0), None),
    ("324ms", timedelta(milliseconds=324), None),
    ("3s", timedelta(seconds=3), None),
    ("5m", timedelta(minutes=5), None),
    ("1h", HOUR, None),
    ("4d", 4 * DAY, None),
    ("4d1h", 4 * DAY + HOUR, None),
    ("14d", 14 * DAY, "2w"),
    ("3w", 21 * DAY, None),
    ("3w2d1h", 23 * DAY + HOUR, "23d1h"),
    ("10y", 3650 * DAY, None),
    ("289y", 289 * 365 * DAY, None),
    # Beyond upstream's table: every unit at once, and what the bundle's own configs use.
    ("1y1w1d1h1m1s1ms", 373 * DAY + HOUR + timedelta(minutes=1, seconds=1, milliseconds=1), "373d1h1m1s1ms"),
    ("1h30m", timedelta(minutes=90), None),
    ("500ms", timedelta(milliseconds=500), None),
    ("1y", 365 * DAY, None),
    ("90s", timedelta(seconds=90), "1m30s"),
]

BAD_CASES = [
    # TestParseBadDuration
    "1",
    "1y1m1d",
    "-1w",
    "1.5d",
    "d",
    "294y",
    "200y10400w",
    "107675d",
    "2584200h",
    "",
    # The grammar's other edges: order, repetition, case, spaces, the old exporter grammar's floats.
    "1m1h",
    "1s1s",
    "1S",
    "1h 30m",
    " 1h",
    "0.5s",
    "1us",
    "9" * 5000 + "s",
]


@pytest.mark.parametrize(("text", "value", "shown"), PARSE_CASES, ids=[case[0] for case in PARSE_CASES])
def test_parse_duration_reads_what_prometheus_reads_and_formats_it_back(
    text: str, value: timedelta, shown: str | None
) -> None:
    assert parse_duration(text) == value
    assert format_duration(value) == (shown or text)


@pytest.mark.parametrize("text", BAD_CASES, ids=lambda text: repr(text[:20]))
def test_parse_duration_refuses_what_prometheus_refuses(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert str(caught.value).startswith(f"{text!r} is not a duration like 5s, 500ms or 1m (")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "(empty)"),
        ("5", "(no unit after 5; units are y, w, d, h, m, s, ms)"),
        ("5 minutes", "(unknown unit ' minutes'; units are y, w, d, h, m, s, ms)"),
        ("1m1h", "(units go from largest to smallest (y, w, d, h, m, s, ms), each at most once)"),
        ("-1w", "(expected a whole number at '-1w')"),
        ("294y", "(out of range: longer than 292 years)"),
    ],
)
def test_a_bad_duration_says_why(text: str, why: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert str(caught.value) == f"{text!r} is not a duration like 5s, 500ms or 1m {why}"


def test_the_largest_duration_go_holds_is_accepted_and_one_millisecond_more_is_not() -> None:
    largest_ms = (2**63 - 1) // 1_000_000
    assert parse_duration(f"{largest_ms}ms") == timedelta(milliseconds=largest_ms)
    with pytest.raises(DurationError):
        parse_duration(f"{largest_ms + 1}ms")


def test_format_duration_truncates_to_milliseconds_and_keeps_the_sign() -> None:
    assert format_duration(timedelta(microseconds=1500)) == "1ms"
    assert format_duration(timedelta(microseconds=999)) == "0s"
    assert format_duration(-timedelta(seconds=3)) == "-3s"
    assert format_duration(-(23 * DAY + HOUR)) == "-23d1h"
