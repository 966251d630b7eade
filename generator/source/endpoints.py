"""`endpoints:`: the climate services' endpoints, probed by the blackbox exporter (Prometheus job
`endpoints`, targets from the bridge's HTTP service discovery)."""

from __future__ import annotations

from pydantic import Field

from generator.source.fields import Duration, LabelValue, Severity, Strict


class Slow(Strict):
    above_seconds: float = Field(gt=0)  # probe_duration_seconds of a successful probe
    for_: Duration = Field(alias="for")
    severity: Severity


class Endpoints(Strict):
    job: LabelValue
    down_for: Duration
    down_severity: Severity
    slow: Slow
