"""The model of monitoring.yml: every key validated, with one clear message for the first bad one."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from bundle_common.durations import parse_duration
from generator.cron import Cron, CronError

Severity = Literal["info", "warning", "critical"]

_SECOND = timedelta(seconds=1)


class SourceError(Exception):
    """monitoring.yml is unreadable or invalid; the message names the key and the reason."""


def seconds(duration: str) -> int:
    """A Prometheus duration in whole seconds, which is what the rules compare and add."""
    value = parse_duration(duration)  # a DurationError is a ValueError: the model reports it under the key
    if value % _SECOND:
        raise ValueError(f"{duration!r} is not a whole number of seconds")
    return value // _SECOND


def _duration(value: str) -> str:
    if seconds(value) <= 0:
        raise ValueError("must be longer than 0s")
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


def _label_value(value: str) -> str:
    if '"' in value or "\\" in value or "\n" in value:
        raise ValueError('must not contain ", \\ or newlines')
    return value


Duration = Annotated[str, AfterValidator(_duration)]
Regex = Annotated[str, AfterValidator(_regex)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class Services(Strict):
    report_interval: Duration
    missed_reports: int = Field(ge=1)
    down_for: Duration
    down_severity: Severity


class Pipelines(Strict):
    stuck_after: Duration
    failed_severity: Severity


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


class Smtp(Strict):
    smarthost: Annotated[str, Field(pattern=r"^[^:\s]+:\d+$")]
    from_: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")
    require_tls: bool = True
    auth_username: str = ""
    auth_password_file: str | None = None


class EmailTarget(Strict):
    to: str


class SlackTarget(Strict):
    channel: str
    api_url_file: str


class RelayTarget(Strict):
    target: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class WebhookTarget(Strict):
    url: Annotated[str, Field(pattern=r"^https?://[^\s?#]+$")]
    credentials_file: str | None = None


class Receiver(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
    email: EmailTarget | None = None
    slack: SlackTarget | None = None
    teams: RelayTarget | None = None
    sms: RelayTarget | None = None
    webhook: WebhookTarget | None = None


Matcher = Annotated[str, Field(pattern=r'^[a-zA-Z_][a-zA-Z0-9_]*(=|!=|=~|!~)".*"$')]


class Route(Strict):
    matchers: Annotated[list[Matcher], Field(min_length=1)]
    receiver: str
    continue_: bool = Field(default=False, alias="continue")
    mute_time_intervals: list[str] = []


class RouteRoot(Strict):
    receiver: str
    routes: list[Route]


class Inhibit(Strict):
    source: list[Matcher]
    target: list[Matcher]
    equal: list[LabelName]


class TimeRange(Strict):
    start: Annotated[str, Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]
    end: Annotated[str, Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class MuteInterval(Strict):
    name: str
    location: str = "UTC"
    weekdays: list[Weekday] = []
    times: list[TimeRange] = []


class AlertmanagerSource(Strict):
    resolve_timeout: Duration
    group_by: list[LabelName]
    group_wait: Duration
    group_interval: Duration
    repeat_interval: Duration
    smtp: Smtp
    receivers: list[Receiver]
    route: RouteRoot
    inhibit: list[Inhibit] = []
    mute_time_intervals: list[MuteInterval] = []

    @model_validator(mode="after")
    def _references(self) -> AlertmanagerSource:
        names = [receiver.name for receiver in self.receivers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"receivers: duplicate name {duplicates[0]!r}")
        intervals = {interval.name for interval in self.mute_time_intervals}
        if self.route.receiver not in names:
            raise ValueError(f"route.receiver: no receiver named {self.route.receiver!r}")
        for index, route in enumerate(self.route.routes):
            if route.receiver not in names:
                raise ValueError(f"route.routes[{index}].receiver: no receiver named {route.receiver!r}")
            for interval in route.mute_time_intervals:
                if interval not in intervals:
                    raise ValueError(
                        f"route.routes[{index}].mute_time_intervals: no interval named {interval!r}"
                    )
        return self


class Source(Strict):
    runbook_base_url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    bridge_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+$")]
    bridge_api_key_file: str | None = None
    hosts: Hosts
    schedulers: Schedulers
    services: Services
    pipelines: Pipelines
    bridge: Bridge
    alertmanager: AlertmanagerSource
    logs: Logs | None = None


def _location(error_loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in error_loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif not part.startswith(("function-", "list[", "Annotated[")):
            parts.append(("." if parts else "") + part)
    return "".join(parts)


def load_source(path: Path) -> Source:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SourceError(f"{path}: not valid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SourceError(f"{path}: must be a mapping of sections (hosts, schedulers, ...)")
    try:
        return Source.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(first["loc"]) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        raise SourceError(f"{path}: {where}: {message}") from None
