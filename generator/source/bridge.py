"""`bridge:` (the bridge's own health) and `logs:` (Loki ruler alerts on its event log)."""

from __future__ import annotations

from pydantic import Field

from generator.source.fields import Duration, LabelValue, Severity, Strict


class Bridge(Strict):
    job: LabelValue
    downstream_failing_for: Duration
    backlog_max_age: Duration


class LogBurst(Strict):
    window: Duration
    above: int = Field(ge=0)
    for_: Duration | None = Field(default=None, alias="for")
    severity: Severity


class Logs(Strict):
    """Loki ruler alerts on the bridge's event log (rendered to loki/rules/)."""

    error_burst: LogBurst
    failed_jobs: LogBurst
