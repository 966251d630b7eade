"""Scheduler rules: lost heartbeats, failures, and the job semantics compiled from each expectation.

Every alert is rendered once per expectation (first matching scheduler id wins, as in monitoring.yml) and
once for the schedulers no expectation names, so severity, labels and thresholds can differ per job.
The scheduler's registration (owner email, Slack user id, service and job name) is joined from
scheduler_info into every alert's labels, so Alertmanager templates can address the owner directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from generator.cron import Cron
from generator.rules.common import Rule, alert, days_filter, duration, group, one_of, record
from generator.source import Expectation, Source, seconds
from generator.timezones import OFFSET_METRIC, offset_expression

INFO_LABELS = "service_name, job_name, owner_email, alert_user_id"
RUNNING = 'status="running"'
COMPLETED = 'status="completed"'


@dataclass(frozen=True)
class Scope:
    """The schedulers one set of rules applies to."""

    matchers: str
    severity: str
    failures_before_alert: int
    labels: dict[str, str] = field(default_factory=dict)
    expectation: Expectation | None = None

    def sel(self, *extra: str) -> str:
        present = [m for m in (self.matchers, *extra) if m]
        return "{" + ", ".join(present) + "}" if present else ""


def scopes(source: Source) -> Iterator[Scope]:
    schedulers = source.schedulers
    expectations = schedulers.expectations
    for index, expectation in enumerate(expectations):
        if expectation.is_glob:
            matchers = [f'scheduler_id=~"{expectation.id_regex}"']
        else:
            matchers = [f'scheduler_id="{expectation.scheduler_id}"']
        earlier = [e.id_regex for e in expectations[:index]]
        if earlier:
            matchers.append(f'scheduler_id!~"{one_of(earlier)}"')
        yield Scope(
            ", ".join(matchers),
            expectation.severity or schedulers.defaults.severity,
            expectation.failures_before_alert or schedulers.defaults.failures_before_alert,
            dict(expectation.labels),
            expectation,
        )
    rest = f'scheduler_id!~"{one_of([e.id_regex for e in expectations])}"' if expectations else ""
    yield Scope(rest, schedulers.defaults.severity, schedulers.defaults.failures_before_alert)


def joined(expr: str) -> str:
    """`expr` with the registration labels of scheduler_info added, kept as it is where none exists."""
    join = f"* on (scheduler_id) group_left ({INFO_LABELS}) scheduler_info"
    return f"(\n{expr}\n)\n{join}\nor on (scheduler_id) (\n{expr}\n)"


def _indent(expr: str) -> str:
    return "\n".join("  " + line for line in expr.splitlines())


def _always(source: Source, scope: Scope) -> list[Rule]:
    schedulers = source.schedulers
    lost_after = seconds(schedulers.heartbeat_interval) * schedulers.missed_heartbeats
    alive = (
        '__name__=~"scheduler_last_heartbeat_timestamp_seconds|scheduler_last_run_start_timestamp_seconds"'
    )
    failures = scope.failures_before_alert
    return [
        alert(
            source,
            "SchedulerHeartbeatMissing",
            joined(
                _indent(
                    f"time() - max by (scheduler_id) ({scope.sel(alive)}) > {lost_after}\n"
                    f"and on (scheduler_id) scheduler_status{scope.sel(RUNNING)} == 1"
                )
            ),
            for_="0s",
            severity=scope.severity,
            labels=scope.labels,
            summary="Scheduler {{ $labels.scheduler_id }} stopped sending heartbeats",
            description="{{ $labels.scheduler_id }} is running but sent no heartbeat for "
            "{{ $value | humanizeDuration }} (expected every "
            f"{schedulers.heartbeat_interval}; lost after {schedulers.missed_heartbeats} missed).",
        ),
        alert(
            source,
            "SchedulerRunFailed",
            joined(_indent(f"scheduler_consecutive_failures{scope.sel()} >= {failures}")),
            for_="0s",
            severity=scope.severity,
            labels=scope.labels,
            summary="Scheduler {{ $labels.scheduler_id }} failed"
            + ("" if failures == 1 else f" {failures} runs in a row"),
            description="{{ $labels.scheduler_id }} ({{ $labels.job_name }}) failed its last "
            "{{ $value }} run(s); the bridge's events in Loki hold the error message.",
        ),
    ]


def _clock(cron: Cron, tz_metric: str) -> tuple[str, int, str]:
    """(seconds since local midnight, scheduled start in seconds of day, run-day filter)."""
    hour, minute = cron.daily_time() or (0, 0)
    local_now = f"(time() + {tz_metric})"
    return f"({local_now} % 86400)", hour * 3600 + minute * 60, days_filter(local_now, cron.weekdays)


def _since_window(metric: str, scope: Scope, expectation: Expectation, sod: str, start: int) -> str:
    """Schedulers whose `metric` is older than today's scheduled start (or missing, for an exact id)."""
    expr = f"time() - {metric}{scope.sel()} > on () group_left () ({sod} - {start})"
    if not expectation.is_glob:
        expr += f'\nor absent({metric}{{scheduler_id="{expectation.scheduler_id}"}})'
    return expr


def _scheduled(source: Source, scope: Scope) -> list[Rule]:
    expectation = scope.expectation
    if expectation is None:
        return []
    rules: list[Rule] = []
    cron = expectation.cron()
    start_grace = seconds(expectation.start_grace)
    run_grace = seconds(expectation.run_grace)
    max_runtime = seconds(expectation.max_runtime) if expectation.max_runtime else None
    who = "{{ $labels.scheduler_id }}"
    if cron is not None:
        shortest, longest = cron.gaps()
        if cron.daily_time() is not None:
            tz_metric = f'{OFFSET_METRIC}{{timezone="{expectation.timezone}"}}'
            sod, start, days = _clock(cron, tz_metric)
            late = _since_window("scheduler_last_run_start_timestamp_seconds", scope, expectation, sod, start)
            rules.append(
                alert(
                    source,
                    "SchedulerStartLate",
                    joined(
                        _indent(
                            f"(\n{_indent(late)}\n)\nand on () ({sod} >= {start + start_grace})\n"
                            f"and on () ({days})"
                        )
                    ),
                    for_="0s",
                    summary=f"Scheduler {who} has not started",
                    description=f"{who} should start at {expectation.schedule} ({expectation.timezone}) "
                    f"and has not started within {expectation.start_grace}.",
                    severity=scope.severity,
                    labels=scope.labels,
                )
            )
            if expectation.deadline:
                hour, minute = (int(part) for part in expectation.deadline.split(":"))
                missed = _since_window(
                    "scheduler_last_success_timestamp_seconds", scope, expectation, sod, start
                )
                rules.append(
                    alert(
                        source,
                        "SchedulerDeadlineMissed",
                        joined(
                            _indent(
                                f"(\n{_indent(missed)}\n)\nand on () ({sod} >= {hour * 3600 + minute * 60})\n"
                                f"and on () ({days})"
                            )
                        ),
                        for_="0s",
                        summary=f"Scheduler {who} missed its {expectation.deadline} deadline",
                        description=f"{who} had not succeeded by {expectation.deadline} "
                        f"({expectation.timezone}) today, whether it failed, is still running or never ran.",
                        severity=scope.severity,
                        labels=scope.labels,
                    )
                )
        else:
            rules.append(
                alert(
                    source,
                    "SchedulerStartLate",
                    joined(
                        _indent(
                            f"time() - scheduler_last_run_start_timestamp_seconds{scope.sel()}"
                            f" > {longest + start_grace}"
                        )
                    ),
                    for_="0s",
                    summary=f"Scheduler {who} has not started",
                    description=f"{who} last started {{{{ $value | humanizeDuration }}}} ago; its schedule "
                    f"{expectation.schedule} runs at least every {duration(longest)} "
                    f"(plus {expectation.start_grace} grace).",
                    severity=scope.severity,
                    labels=scope.labels,
                )
            )
        overdue = longest + start_grace + (max_runtime or 0) + run_grace
        rules.append(
            alert(
                source,
                "SchedulerRunOverdue",
                joined(
                    _indent(f"time() - scheduler_last_success_timestamp_seconds{scope.sel()} > {overdue}")
                ),
                for_="0s",
                summary=f"Scheduler {who} has not succeeded for too long",
                description=f"{who} last succeeded {{{{ $value | humanizeDuration }}}} ago; by its schedule "
                f"{expectation.schedule} ({expectation.timezone}) a run should succeed every "
                f"{duration(longest)}.",
                severity=scope.severity,
                labels=scope.labels,
            )
        )
        window = duration(max(shortest // 2, 60))
        rules.append(
            alert(
                source,
                "SchedulerRunsTooOften",
                joined(
                    _indent(f"changes(scheduler_last_run_start_timestamp_seconds{scope.sel()}[{window}]) > 1")
                ),
                for_="0s",
                summary=f"Scheduler {who} runs more often than scheduled",
                description=f"{who} started {{{{ $value }}}} runs within {window}; its schedule "
                f"{expectation.schedule} runs at most every {duration(shortest)}.",
                severity=scope.severity,
                labels=scope.labels,
            )
        )
    if max_runtime is not None:
        rules.append(
            alert(
                source,
                "SchedulerRunTooSlow",
                joined(
                    _indent(
                        f"time() - scheduler_last_run_start_timestamp_seconds{scope.sel()}"
                        f" > {max_runtime + run_grace}\n"
                        f"and on (scheduler_id) scheduler_status{scope.sel(RUNNING)} == 1"
                    )
                ),
                for_="0s",
                summary=f"Scheduler {who} runs too long",
                description=f"{who} has been running for {{{{ $value | humanizeDuration }}}}, longer than "
                f"its {expectation.max_runtime} (plus {expectation.run_grace} grace).",
                severity=scope.severity,
                labels=scope.labels,
            )
        )
    if expectation.min_runtime:
        rules.append(
            alert(
                source,
                "SchedulerRunTooFast",
                joined(
                    _indent(
                        f"scheduler_last_run_duration_seconds{scope.sel()}"
                        f" < {seconds(expectation.min_runtime)}\n"
                        f"and on (scheduler_id) scheduler_status{scope.sel(COMPLETED)} == 1"
                    )
                ),
                for_="0s",
                summary=f"Scheduler {who} finished suspiciously fast",
                description=f"{who} completed in {{{{ $value | humanizeDuration }}}}, under its minimum of "
                f"{expectation.min_runtime}: it may have done nothing.",
                severity=scope.severity,
                labels=scope.labels,
            )
        )
    if not expectation.is_glob:
        never = (longest + start_grace) if cron is not None else seconds(source.schedulers.heartbeat_interval)
        rules.append(
            alert(
                source,
                "SchedulerNeverReported",
                f'absent(scheduler_info{{scheduler_id="{expectation.scheduler_id}"}})',
                for_=duration(never),
                summary=f"Scheduler {expectation.scheduler_id} never registered",
                description=f"{expectation.scheduler_id} is expected by monitoring.yml but has not "
                f"registered with the bridge for {duration(never)}.",
                severity=scope.severity,
                labels=scope.labels,
            )
        )
    return rules


def rule_file(source: Source) -> dict[str, Any]:
    zones = sorted({e.timezone for e in source.schedulers.expectations if e.schedule})
    alerts: list[Rule] = []
    for scope in scopes(source):
        alerts += _always(source, scope) + _scheduled(source, scope)
    groups = [group("scheduler.alerts", alerts)]
    if zones:
        offsets = [record(OFFSET_METRIC, offset_expression(zone), {"timezone": zone}) for zone in zones]
        groups.insert(0, group("scheduler.clock", offsets))
    return {"groups": groups}
