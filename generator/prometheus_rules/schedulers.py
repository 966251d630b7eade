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
from generator.prometheus_rules.common import Rule, alert, days_filter, duration, group, one_of, record
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

    def alert(self, source: Source, name: str, expr: str, summary: str, description: str) -> Rule:
        """An alert on these schedulers, firing at once, with their registration joined in."""
        return alert(
            source,
            name,
            joined(_indent(expr)),
            for_="0s",
            severity=self.severity,
            labels=self.labels,
            summary=summary,
            description=description,
        )


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


WHO = "{{ $labels.scheduler_id }}"
ALIVE = '__name__=~"scheduler_last_heartbeat_timestamp_seconds|scheduler_last_run_start_timestamp_seconds"'


def _always(source: Source, scope: Scope) -> list[Rule]:
    """For every scheduler: a running job that went silent, and failed runs."""
    schedulers = source.schedulers
    lost_after = seconds(schedulers.heartbeat_interval) * schedulers.missed_heartbeats
    failures = scope.failures_before_alert
    return [
        scope.alert(
            source,
            "SchedulerHeartbeatMissing",
            f"time() - max by (scheduler_id) ({scope.sel(ALIVE)}) > {lost_after}\n"
            f"and on (scheduler_id) scheduler_status{scope.sel(RUNNING)} == 1",
            summary=f"Scheduler {WHO} stopped sending heartbeats",
            description=f"{WHO} is running but sent no heartbeat for "
            "{{ $value | humanizeDuration }} (expected every "
            f"{schedulers.heartbeat_interval}; lost after {schedulers.missed_heartbeats} missed).",
        ),
        scope.alert(
            source,
            "SchedulerRunFailed",
            f"scheduler_consecutive_failures{scope.sel()} >= {failures}",
            summary=f"Scheduler {WHO} failed" + ("" if failures == 1 else f" {failures} runs in a row"),
            description=f"{WHO} ({{{{ $labels.job_name }}}}) failed its last "
            "{{ $value }} run(s); the bridge's events in Loki hold the error message.",
        ),
    ]


def _since_window(metric: str, scope: Scope, expectation: Expectation, sod: str, start: int) -> str:
    """Schedulers whose `metric` is older than today's scheduled start (or missing, for an exact id)."""
    expr = f"time() - {metric}{scope.sel()} > on () group_left () ({sod} - {start})"
    if not expectation.is_glob:
        expr += f'\nor absent({metric}{{scheduler_id="{expectation.scheduler_id}"}})'
    return expr


def _on_the_local_clock(source: Source, scope: Scope, expectation: Expectation, cron: Cron) -> list[Rule]:
    """A job that runs once a day: late start and missed deadline by the local time in its zone."""
    hour, minute = cron.daily_time() or (0, 0)
    start = hour * 3600 + minute * 60
    local_now = f'(time() + {OFFSET_METRIC}{{timezone="{expectation.timezone}"}})'
    sod = f"({local_now} % 86400)"  # seconds since local midnight
    days = days_filter(local_now, cron.weekdays)

    def past(moment: int, window: str) -> str:
        return f"(\n{_indent(window)}\n)\nand on () ({sod} >= {moment})\nand on () ({days})"

    not_started = _since_window("scheduler_last_run_start_timestamp_seconds", scope, expectation, sod, start)
    rules = [
        scope.alert(
            source,
            "SchedulerStartLate",
            past(start + seconds(expectation.start_grace), not_started),
            summary=f"Scheduler {WHO} has not started",
            description=f"{WHO} should start at {expectation.schedule} ({expectation.timezone}) "
            f"and has not started within {expectation.start_grace}.",
        )
    ]
    if expectation.deadline:
        deadline_hour, deadline_minute = (int(part) for part in expectation.deadline.split(":"))
        no_success = _since_window("scheduler_last_success_timestamp_seconds", scope, expectation, sod, start)
        rules.append(
            scope.alert(
                source,
                "SchedulerDeadlineMissed",
                past(deadline_hour * 3600 + deadline_minute * 60, no_success),
                summary=f"Scheduler {WHO} missed its {expectation.deadline} deadline",
                description=f"{WHO} had not succeeded by {expectation.deadline} "
                f"({expectation.timezone}) today, whether it failed, is still running or never ran.",
            )
        )
    return rules


def _by_the_gaps(source: Source, scope: Scope, expectation: Expectation, cron: Cron) -> list[Rule]:
    """Any schedule: judged by the longest and shortest gap between its runs."""
    shortest, longest = cron.gaps()
    start_grace = seconds(expectation.start_grace)
    max_runtime = seconds(expectation.max_runtime) if expectation.max_runtime else 0
    rules = []
    if cron.daily_time() is None:  # once-a-day jobs get the local-clock version instead
        rules.append(
            scope.alert(
                source,
                "SchedulerStartLate",
                f"time() - scheduler_last_run_start_timestamp_seconds{scope.sel()} > {longest + start_grace}",
                summary=f"Scheduler {WHO} has not started",
                description=f"{WHO} last started {{{{ $value | humanizeDuration }}}} ago; its schedule "
                f"{expectation.schedule} runs at least every {duration(longest)} "
                f"(plus {expectation.start_grace} grace).",
            )
        )
    overdue = longest + start_grace + max_runtime + seconds(expectation.run_grace)
    window = duration(max(shortest // 2, 60))
    rules += [
        scope.alert(
            source,
            "SchedulerRunOverdue",
            f"time() - scheduler_last_success_timestamp_seconds{scope.sel()} > {overdue}",
            summary=f"Scheduler {WHO} has not succeeded for too long",
            description=f"{WHO} last succeeded {{{{ $value | humanizeDuration }}}} ago; by its schedule "
            f"{expectation.schedule} ({expectation.timezone}) a run should succeed every "
            f"{duration(longest)}.",
        ),
        scope.alert(
            source,
            "SchedulerRunsTooOften",
            f"changes(scheduler_last_run_start_timestamp_seconds{scope.sel()}[{window}]) > 1",
            summary=f"Scheduler {WHO} runs more often than scheduled",
            description=f"{WHO} started {{{{ $value }}}} runs within {window}; its schedule "
            f"{expectation.schedule} runs at most every {duration(shortest)}.",
        ),
    ]
    return rules


def _runtime(source: Source, scope: Scope, expectation: Expectation) -> list[Rule]:
    """Runs that take too long, or finish suspiciously fast."""
    rules = []
    if expectation.max_runtime:
        limit = seconds(expectation.max_runtime) + seconds(expectation.run_grace)
        rules.append(
            scope.alert(
                source,
                "SchedulerRunTooSlow",
                f"time() - scheduler_last_run_start_timestamp_seconds{scope.sel()} > {limit}\n"
                f"and on (scheduler_id) scheduler_status{scope.sel(RUNNING)} == 1",
                summary=f"Scheduler {WHO} runs too long",
                description=f"{WHO} has been running for {{{{ $value | humanizeDuration }}}}, longer than "
                f"its {expectation.max_runtime} (plus {expectation.run_grace} grace).",
            )
        )
    if expectation.min_runtime:
        rules.append(
            scope.alert(
                source,
                "SchedulerRunTooFast",
                f"scheduler_last_run_duration_seconds{scope.sel()} < {seconds(expectation.min_runtime)}\n"
                f"and on (scheduler_id) scheduler_status{scope.sel(COMPLETED)} == 1",
                summary=f"Scheduler {WHO} finished suspiciously fast",
                description=f"{WHO} completed in {{{{ $value | humanizeDuration }}}}, under its minimum of "
                f"{expectation.min_runtime}: it may have done nothing.",
            )
        )
    return rules


def _never_reported(source: Source, scope: Scope, expectation: Expectation, cron: Cron | None) -> Rule:
    """An exact scheduler id named in monitoring.yml that never registered."""
    if cron is not None:
        never = cron.gaps()[1] + seconds(expectation.start_grace)
    else:
        never = seconds(source.schedulers.heartbeat_interval)
    return alert(
        source,
        "SchedulerNeverReported",
        f'absent(scheduler_info{{scheduler_id="{expectation.scheduler_id}"}})',
        for_=duration(never),
        severity=scope.severity,
        labels=scope.labels,
        summary=f"Scheduler {expectation.scheduler_id} never registered",
        description=f"{expectation.scheduler_id} is expected by monitoring.yml but has not "
        f"registered with the bridge for {duration(never)}.",
    )


def _expected(source: Source, scope: Scope) -> list[Rule]:
    """The job semantics of the scope's expectation, in the order the rule file lists them."""
    expectation = scope.expectation
    if expectation is None:
        return []
    cron = expectation.cron()
    rules: list[Rule] = []
    if cron is not None:
        if cron.daily_time() is not None:
            rules += _on_the_local_clock(source, scope, expectation, cron)
        rules += _by_the_gaps(source, scope, expectation, cron)
    rules += _runtime(source, scope, expectation)
    if not expectation.is_glob:
        rules.append(_never_reported(source, scope, expectation, cron))
    return rules


def rule_file(source: Source) -> dict[str, Any]:
    zones = sorted({e.timezone for e in source.schedulers.expectations if e.schedule})
    alerts: list[Rule] = []
    for scope in scopes(source):
        alerts += _always(source, scope) + _expected(source, scope)
    groups = [group("scheduler.alerts", alerts)]
    if zones:
        offsets = [record(OFFSET_METRIC, offset_expression(zone), {"timezone": zone}) for zone in zones]
        groups.insert(0, group("scheduler.clock", offsets))
    return {"groups": groups}
