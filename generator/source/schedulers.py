"""`schedulers:`: heartbeats, defaults, and expectations per scheduler id (cron, deadlines, runtimes)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from generator.cron import Cron, CronError
from generator.source.fields import Duration, LabelName, LabelValue, Severity, Strict, seconds


class SchedulerDefaults(Strict):
    failures_before_alert: int = Field(ge=1)
    severity: Severity


class Expectation(Strict):
    scheduler_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:*?\-]+$")]
    schedule: str | None = None
    timezone: str = "UTC"
    start_grace: Duration = "15m"
    max_runtime: Duration | None = None
    run_grace: Duration = "15m"
    min_runtime: Duration | None = None
    deadline: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] | None = None
    failures_before_alert: int | None = Field(default=None, ge=1)
    severity: Severity | None = None
    labels: dict[LabelName, LabelValue] = {}

    @property
    def is_glob(self) -> bool:
        return any(char in self.scheduler_id for char in "*?")

    @property
    def id_regex(self) -> str:
        """The glob as a regex in a PromQL string (anchored by PromQL; `.` escaped as `\\.`)."""
        glob = {"*": ".*", "?": ".", ".": "\\\\."}
        return "".join(glob.get(char, char) for char in self.scheduler_id)

    def cron(self) -> Cron | None:
        return Cron(self.schedule, self.timezone) if self.schedule else None

    @model_validator(mode="after")
    def _consistent(self) -> Expectation:
        try:
            cron = self.cron()
        except CronError as exc:
            raise ValueError(f"schedule: {exc}") from None
        if self.deadline:
            if self.is_glob:
                raise ValueError("deadline: needs an exact scheduler_id (a glob cannot be absent)")
            if cron is None or cron.daily_time() is None:
                raise ValueError("deadline: needs a schedule that runs once a day at a fixed time")
            start_hour, start_minute = cron.daily_time() or (0, 0)
            hour, minute = (int(part) for part in self.deadline.split(":"))
            if hour * 60 + minute <= start_hour * 60 + start_minute:
                raise ValueError("deadline: must be later the same day than the scheduled start")
        if self.min_runtime and self.max_runtime and seconds(self.min_runtime) >= seconds(self.max_runtime):
            raise ValueError("min_runtime: must be shorter than max_runtime")
        return self


class Schedulers(Strict):
    heartbeat_interval: Duration
    missed_heartbeats: int = Field(ge=1)
    defaults: SchedulerDefaults
    expectations: list[Expectation] = []
