"""Building blocks shared by the rule modules: alerts with runbook links, durations, label filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bundle_common.durations import format_duration
from generator.source import Source, seconds

Rule = dict[str, Any]


def alert(
    source: Source,
    name: str,
    expr: str,
    *,
    for_: str,
    severity: str,
    summary: str,
    description: str,
    labels: dict[str, str] | None = None,
) -> Rule:
    rule: Rule = {"alert": name, "expr": expr}
    if seconds(for_) > 0:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, **(labels or {})}
    rule["annotations"] = {
        "summary": summary,
        "description": description,
        "runbook_url": f"{source.runbook_base_url}#{name.lower()}",
    }
    return rule


def record(name: str, expr: str, labels: dict[str, str] | None = None) -> Rule:
    rule: Rule = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


def group(name: str, rules: Sequence[Rule], interval: str | None = None) -> dict[str, Any]:
    built: dict[str, Any] = {"name": name}
    if interval:
        built["interval"] = interval
    built["rules"] = list(rules)
    return built


def duration(total_seconds: int) -> str:
    """A number of seconds as Prometheus writes a duration (3600 -> 1h, 5400 -> 1h30m, 1209600 -> 2w)."""
    return format_duration(timedelta(seconds=total_seconds))


def selector(*matchers: str) -> str:
    """`{a="b", c!~"d"}` from the matchers that are not empty, or "" when none are."""
    present = [matcher for matcher in matchers if matcher]
    return "{" + ", ".join(present) + "}" if present else ""


def one_of(values: Sequence[str]) -> str:
    """A regex alternation of anchored regexes, for =~ and !~ matchers."""
    return "|".join(values)


def days_filter(expr: str, weekdays: frozenset[int]) -> str:
    """Keep `expr`'s day_of_week only on the given days (0 = Sunday), as ranges joined with `or`."""
    runs: list[tuple[int, int]] = []
    for day in sorted(weekdays):
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    parts = [
        f"day_of_week({expr}) == {low}" if low == high else f"day_of_week({expr}) >= {low} <= {high}"
        for low, high in runs
    ]
    return " or ".join(parts)
