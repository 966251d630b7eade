"""`hosts:`: exporter jobs, threshold levels per host group, disk filling, Raspberry Pi flags."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from generator.source.fields import Duration, LabelValue, Regex, Severity, Strict


class Level(Strict):
    severity: Severity
    above: float
    for_: Duration = Field(alias="for")


Levels = Annotated[list[Level], Field(min_length=1)]


class Thresholds(Strict):
    cpu_percent: Levels | None = None
    memory_percent: Levels | None = None
    disk_percent: Levels | None = None
    cpu_temperature_celsius: Levels | None = None

    def named(self) -> dict[str, list[Level]]:
        """The thresholds this object sets, by name."""
        return {name: getattr(self, name) for name in type(self).model_fields if getattr(self, name)}


class HostGroup(Strict):
    name: LabelValue
    instance: Regex
    thresholds: Thresholds


class DiskFilling(Strict):
    window: Duration
    horizon: Duration
    below_free_percent: float = Field(gt=0, le=100)
    for_: Duration = Field(alias="for")
    severity: Severity


class FlagAlert(Strict):
    for_: Duration = Field(alias="for")
    severity: Severity


class Hosts(Strict):
    exporter_jobs: Annotated[list[LabelValue], Field(min_length=1)]
    exporter_down_for: Duration
    collector_failing_for: Duration
    thresholds: Thresholds
    disk_filling: DiskFilling
    throttled: FlagAlert
    under_voltage: FlagAlert
    groups: list[HostGroup] = []

    @model_validator(mode="after")
    def _complete_defaults(self) -> Hosts:
        missing = [name for name in Thresholds.model_fields if getattr(self.thresholds, name) is None]
        if missing:
            raise ValueError(f"thresholds: default levels missing for {', '.join(missing)}")
        return self
