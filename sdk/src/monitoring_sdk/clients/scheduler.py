"""The Scheduler Monitoring API: register, status, heartbeat; `run()` reports a whole job run.

monitor = SchedulerClient(API_URL, API_KEY, "my-service-eod", "My Service", "EOD Processing")
with monitor.run() as run:
    run.metadata["records_processed"] = process()
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from monitoring_sdk.clients.base import ApiClient, ApiError

log = logging.getLogger("monitoring_sdk")
STATUSES = ("pending", "running", "completed", "failed")


@dataclass
class Run:
    """One job run inside `SchedulerClient.run()`; put results into `metadata` for the final report."""

    started: float
    metadata: dict[str, Any] = field(default_factory=dict)


class SchedulerClient(ApiClient):
    """One scheduler's reports to `api_url` (the seed's `https://monitoring.example.com/api/v1`).

    Every request is safe to resend: registering is idempotent, a resent status carries the same
    `timestamp` (which the bridge recognises, so a run is not counted twice), a heartbeat sets a time.
    """

    def __init__(
        self,
        api_url: str,
        api_key: str | None,
        scheduler_id: str,
        service_name: str,
        job_name: str,
        *,
        owner_email: str | None = None,
        alert_user_id: str | None = None,
        heartbeat_interval_s: float = 300.0,
        **options: Any,
    ) -> None:
        super().__init__(api_url, {"x-api-key": api_key} if api_key else {}, **options)
        if heartbeat_interval_s <= 0:
            raise ValueError("heartbeat_interval_s must be > 0")
        self.scheduler_id = scheduler_id
        self.service_name = service_name
        self.job_name = job_name
        self.owner_email = owner_email
        self.alert_user_id = alert_user_id
        self.heartbeat_interval_s = heartbeat_interval_s
        self.heartbeats_sent = 0
        self.last_error: str | None = None
        self._path = f"/schedulers/{quote(scheduler_id, safe='')}"
        self._stop_heartbeat = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None

    def register(self) -> Any:
        """Register the scheduler (idempotent: safe on every start)."""
        body: dict[str, Any] = {
            "scheduler_id": self.scheduler_id,
            "service_name": self.service_name,
            "job_name": self.job_name,
        }
        if self.owner_email:
            body["owner_email"] = self.owner_email
        if self.alert_user_id:
            body["alert_user_id"] = self.alert_user_id
        return self.request("POST", "/schedulers/register", body)

    def update_status(
        self,
        status: str,
        *,
        execution_time_ms: float | None = None,
        error_message: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Any:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        body: dict[str, Any] = {
            "scheduler_id": self.scheduler_id,
            "service_name": self.service_name,
            "job_name": self.job_name,
            "status": status,
            "timestamp": datetime.now(UTC).isoformat(),
        }
        optional = {"execution_time_ms": execution_time_ms, "error_message": error_message}
        body.update({key: value for key, value in optional.items() if value is not None})
        if metadata:
            body["metadata"] = dict(metadata)
        try:
            return self.request("PUT", self._path + "/status", body)
        except ApiError as exc:
            if exc.status != 404:
                raise
            self.register()  # the seed's advice: not registered yet, register and send again
            return self.request("PUT", self._path + "/status", body)

    def heartbeat(self) -> Any:
        answer = self.request("POST", self._path + "/heartbeat", {"scheduler_id": self.scheduler_id})
        self.heartbeats_sent += 1
        return answer

    def start_heartbeat(self, interval_s: float | None = None) -> None:
        """Send a heartbeat every `interval_s` (default `heartbeat_interval_s`) from a daemon thread."""
        if self._heartbeat_thread is not None:
            return
        interval = interval_s or self.heartbeat_interval_s
        self._stop_heartbeat.clear()
        self._heartbeat_thread = threading.Thread(
            target=self._beat, args=(interval,), name=f"heartbeat-{self.scheduler_id}", daemon=True
        )
        self._heartbeat_thread.start()

    def stop_heartbeat(self) -> None:
        thread, self._heartbeat_thread = self._heartbeat_thread, None
        self._stop_heartbeat.set()
        if thread is not None:
            thread.join(self.timeout_s + 1)

    def _beat(self, interval: float) -> None:
        while not self._stop_heartbeat.wait(interval):
            try:
                self.heartbeat()
            except ApiError as exc:
                self.last_error = str(exc)
                log.warning("monitoring_sdk: heartbeat of %s failed: %s", self.scheduler_id, exc)

    def _report(self, status: str, **fields: Any) -> None:
        """A status report that never raises: monitoring must not stop the job."""
        try:
            self.update_status(status, **fields)
        except (ApiError, ValueError) as exc:
            self.last_error = str(exc)
            log.warning("monitoring_sdk: %s status of %s not reported: %s", status, self.scheduler_id, exc)

    @contextlib.contextmanager
    def run(self, *, register: bool = True, heartbeat: bool = True) -> Iterator[Run]:
        """Report running, then completed with the duration or failed with the error (re-raised)."""
        if register:
            try:
                self.register()
            except ApiError as exc:
                self.last_error = str(exc)
                log.warning("monitoring_sdk: register of %s failed: %s", self.scheduler_id, exc)
        current = Run(started=time.monotonic())
        self._report("running")
        if heartbeat:
            self.start_heartbeat()
        try:
            yield current
        except BaseException as exc:
            self.stop_heartbeat()
            metadata = {
                **current.metadata,
                "error_type": type(exc).__name__,
                "stack_trace": "".join(traceback.format_exception(exc)),
            }
            self._report(
                "failed",
                execution_time_ms=_elapsed_ms(current),
                error_message=str(exc) or type(exc).__name__,
                metadata=metadata,
            )
            raise
        self.stop_heartbeat()
        self._report("completed", execution_time_ms=_elapsed_ms(current), metadata=current.metadata)


def _elapsed_ms(run: Run) -> int:
    return round((time.monotonic() - run.started) * 1000)
