"""`services:` and `pipelines:`, as the climate monitor's API reports them."""

from __future__ import annotations

from pydantic import Field

from generator.source.fields import Duration, Severity, Strict


class Services(Strict):
    report_interval: Duration
    missed_reports: int = Field(ge=1)
    down_for: Duration
    down_severity: Severity


class Pipelines(Strict):
    stuck_after: Duration
    failed_severity: Severity
