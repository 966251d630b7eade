"""`bridge:` (the bridge's own health) and `logs:` (Loki ruler alerts on its event log)."""

from __future__ import annotations

from pydantic import Field

from generator.source.fields import Duration, LabelValue, Severity, Strict


class Backpressure(Strict):
    above: float = Field(gt=0)  # writes waiting at once, on average (rate of the seconds they waited)
    for_: Duration = Field(alias="for")
    severity: Severity


class Bridge(Strict):
    job: LabelValue
    downstream_failing_for: Duration
    backlog_max_age: Duration
    backpressure: Backpressure


class LogBurst(Strict):
    window: Duration
    above: int = Field(ge=0)
    for_: Duration | None = Field(default=None, alias="for")
    severity: Severity


class Logs(Strict):
    """Loki ruler alerts on the bridge's event log (rendered to loki/rules/)."""

    error_burst: LogBurst
    failed_jobs: LogBurst
