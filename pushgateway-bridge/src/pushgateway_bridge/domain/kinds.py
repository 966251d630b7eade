"""The four entity kinds and the state each one keeps, one TypedDict a kind.

A state is stored as a JSON object; timestamps are Unix seconds (float). Counters live in the state, so
they survive restarts with it. A key that is not always there is `NotRequired`: read it with `.get` into a
typed name, since mypy checks `state["key"]` and what `.get` returns, but not the key `.get` is given.

No state holds `Any` (JSON is `object`): mypy answers `Any` for a call that two overloads match when an
argument's type holds `Any`, and `Kind[...]` matches both of the storage's `get`.

Each kind is a `Kind[...]` token: a plain string (as stored, and as the settings and metrics name it) that
also carries its state's type, so `storage.get(SCHEDULER, key)` is a `SchedulerState` and the catalogue's
sample functions are checked against the kind they read.
"""

from __future__ import annotations

from typing import Generic, NotRequired, TypedDict, TypeVar


class Runs(TypedDict):
    success: int
    failure: int


class SchedulerState(TypedDict):
    scheduler_id: str
    service_name: str
    job_name: str
    owner_email: str  # "" when never given
    alert_user_id: str
    registered: float
    status: str
    status_change: float
    consecutive_failures: int
    runs: Runs
    last_status_at: NotRequired[float]  # the last update's time, to recognise a resend
    last_heartbeat: NotRequired[float]
    last_run_start: NotRequired[float]
    last_success: NotRequired[float]
    last_failure: NotRequired[float]
    last_duration: NotRequired[float]
    last_error_message: NotRequired[str | None]
    last_metadata: NotRequired[dict[str, object]]  # JSON


class Reported(TypedDict):
    value: float
    at: float


class ServiceState(TypedDict):
    service: str
    endpoint: str  # "" until reported
    status: str
    status_change: float
    alerts: dict[str, int]  # severity -> alerts posted
    last_report: NotRequired[float]
    reported: NotRequired[dict[str, Reported]]  # metric type -> last value


class PipelineState(TypedDict):
    pipeline_type: str
    runs: Runs
    status: NotRequired[str]
    status_change: NotRequired[float]
    last_update: NotRequired[float]
    last_success: NotRequired[float]
    last_failure: NotRequired[float]
    step: NotRequired[str | None]
    progress: NotRequired[float]  # 0..1
    last_progress_change: NotRequired[float]


class SidecarJobState(TypedDict):
    site: str
    app: str
    entity_type: str
    business_key: str
    runs: Runs
    app_version: NotRequired[str]
    status: NotRequired[str]  # running, finished, failed
    last_event: NotRequired[float]
    progress: NotRequired[float]
    last_start: NotRequired[float]
    last_success: NotRequired[float]
    last_failure: NotRequired[float]
    last_duration: NotRequired[float]
    last_cpu: NotRequired[float]
    last_memory: NotRequired[int]


State = SchedulerState | ServiceState | PipelineState | SidecarJobState
S = TypeVar("S", bound=State)


class Kind(str, Generic[S]):
    """An entity kind's name, typed with its state."""

    __slots__ = ()


SCHEDULER: Kind[SchedulerState] = Kind("scheduler")
SERVICE: Kind[ServiceState] = Kind("service")
PIPELINE: Kind[PipelineState] = Kind("pipeline")
SIDECAR: Kind[SidecarJobState] = Kind("sidecar")
KINDS = (SCHEDULER, SERVICE, PIPELINE, SIDECAR)
