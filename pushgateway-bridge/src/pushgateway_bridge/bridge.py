"""The running bridge: settings, storage, auth, metrics and the forwarder threads, shared by all routes."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence

from prometheus_client import Counter

from pushgateway_bridge.alerts.reconciler import AlertReconciler
from pushgateway_bridge.alerts.service import AlertService
from pushgateway_bridge.auth import Authenticator
from pushgateway_bridge.delivery.process import DeliveryProcess
from pushgateway_bridge.delivery.pushgateway import ChildPushgateway
from pushgateway_bridge.delivery.settings import DeliverySettings
from pushgateway_bridge.forwarder import OutboxWorker, Worker
from pushgateway_bridge.forwarder_pushgateway import PushgatewayWorker
from pushgateway_bridge.forwarder_remote_write import RemoteWriteWorker
from pushgateway_bridge.integrations.config import load_integrations
from pushgateway_bridge.integrations.wiring import Integrations
from pushgateway_bridge.metrics import BridgeMetrics
from pushgateway_bridge.notifications.config import NotificationsConfig, load_notifications
from pushgateway_bridge.notifications.delivery import NotificationSink
from pushgateway_bridge.notifications.escalation import Escalator
from pushgateway_bridge.notifications.realtime import Hub
from pushgateway_bridge.notifications.service import NOTIFICATION, NotificationService
from pushgateway_bridge.queries.prometheus import PrometheusClient
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.sinks.alertmanager import AlertmanagerSink
from pushgateway_bridge.sinks.logs import log_sink
from pushgateway_bridge.sinks.notify import NotifySink
from pushgateway_bridge.sinks.remote_write import RemoteWriteSink
from pushgateway_bridge.storage.backends import Shared, open_storage
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, SpoolFull, Storage
from pushgateway_bridge.storage.records import RecordWrite
from pushgateway_bridge.storage.sqlite import SQLiteStorage

log = logging.getLogger("pushgateway_bridge")
BACKPRESSURE_POLL_SECONDS = 0.01  # how often a waiting write looks at the backlog again


class Bridge:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Notifications: a socket on any bridge shows those committed on another (storage on PostgreSQL).
        self.storage: Storage = open_storage(settings, broadcast=frozenset({NOTIFICATION}))
        self.auth = Authenticator(settings)
        self.metrics = BridgeMetrics()
        self.metrics.attach_storage(
            self.storage, "remote_write" if settings.remote_write_url else "pushgateway"
        )
        self.workers: dict[str, Worker] = {}
        self.settler: _Settler | None = None
        self.escalator: Escalator | None = None
        self.accepted: dict[str, Counter] = {}
        self.hub = Hub(queue_size=settings.notification_socket_queue)
        self.metrics.attach_hub(self.hub)
        self.notifications_config = (
            load_notifications(settings.notifications_file)
            if settings.notifications_file
            else NotificationsConfig()
        )
        self.integrations = Integrations(
            load_integrations(settings.integrations_file) if settings.integrations_file else []
        )
        self.notifications = NotificationService(
            self.storage, self.notifications_config, self.hub, self.accept
        )
        self.alerts = AlertService(
            self.storage,
            settings.alert_rules_path,
            PrometheusClient(settings.prometheus_url, settings.request_timeout_seconds)
            if settings.prometheus_url
            else None,
            default_for=settings.alert_default_for,
            load_timeout_seconds=settings.request_timeout_seconds,
        )
        self.alert_reconciler: AlertReconciler | None = None

    def start(self) -> None:
        s = self.settings
        if s.auth_disabled:
            log.warning("auth_disabled is set: every request is accepted without an API key")
        # Logs and Pushgateway's requests from a second process, with SQLite (delivery/__init__.py).
        process = (
            DeliveryProcess(s, self.storage, self.metrics)
            if s.delivery_process and isinstance(self.storage, SQLiteStorage)
            else None
        )
        if s.remote_write_url:
            sink = RemoteWriteSink(s.remote_write_url, s.remote_write_tenant, s.request_timeout_seconds)
            self.workers["remote_write"] = RemoteWriteWorker(s, self.storage, self.metrics, sink)
        else:
            pushgateway = ChildPushgateway(process.call) if process else None
            self.workers["pushgateway"] = PushgatewayWorker(s, self.storage, self.metrics, pushgateway)
        self.workers["loki"] = process or OutboxWorker(
            "loki",
            log_sink(DeliverySettings.of(s)),
            s,
            self.storage,
            self.metrics,
            s.loki_batch_max_entries,
            s.flush_interval_seconds,
        )
        if s.alertmanager_url:
            self.workers["alertmanager"] = OutboxWorker(
                "alertmanager",
                AlertmanagerSink(s.alertmanager_url, s.request_timeout_seconds),
                s,
                self.storage,
                self.metrics,
                100,
                s.flush_interval_seconds,
            )
        self.workers["notify"] = OutboxWorker(
            "notify",
            NotifySink(s.notify, s.request_timeout_seconds),
            s,
            self.storage,
            self.metrics,
            1,
            s.flush_interval_seconds,
        )
        self.workers["notifications"] = OutboxWorker(
            "notifications",
            NotificationSink(self.storage, self.notifications_config.channels),
            s,
            self.storage,
            self.metrics,
            1,
            s.flush_interval_seconds,
        )
        self.workers.update(self.integrations.start_workers(s, self.storage, self.metrics))
        for worker in self.workers.values():
            worker.start()
        if isinstance(self.storage, Shared):
            self.storage.listen(lambda _kind, key: self.notifications.publish_committed(key))
        self.alert_reconciler = AlertReconciler(self.alerts, s.restore_check_interval_seconds)
        self.alert_reconciler.start()
        if self.notifications_config.escalation:
            notifications = self.workers["notifications"]
            self.escalator = Escalator(
                self.storage,
                self.notifications_config,
                notifications.wake.set,
                counted=self.metrics.escalations.inc,
            )
            self.escalator.start()
        log.info(
            "bridge started: metrics=%s alertmanager=%s logs=%s data=%s",
            f"remote write to {s.remote_write_url}" if s.remote_write_url else s.pushgateway_url,
            s.alertmanager_url or "-",
            s.loki_url or s.events_path,
            s.data_dir,
        )

    def stop(self) -> None:
        if self.alert_reconciler is not None:
            self.alert_reconciler.stop()
            self.alert_reconciler.join(timeout=30)
        if self.escalator is not None:
            self.escalator.stop()
            self.escalator.join(timeout=10)
        for worker in self.workers.values():
            worker.stop()
        for worker in self.workers.values():
            worker.join(timeout=10)
        self.storage.close()

    async def accept(
        self,
        source: str,
        writes: Sequence[EntityWrite],
        outbox: Sequence[OutboxItem],
        events: int = 1,
        seen: Sequence[str] = (),
        *,
        records: Sequence[RecordWrite] = (),
    ) -> None:
        """Return once committed (group commit: the event loop serves other requests meanwhile).
        Raises SpoolFull (the route answers 503) or the storage's error."""
        if not self.settings.alertmanager_url:
            outbox = [item for item in outbox if item.downstream != "alertmanager"]
        if self.integrations:
            outbox = self.integrations.fan_out(outbox)
        settler = self.settler
        if settler is None or settler.loop is not asyncio.get_running_loop():
            settler = self.settler = _Settler(asyncio.get_running_loop())
        if self.settings.backpressure_pending_items and (
            self.storage.pending_total() >= self.settings.backpressure_pending_items
        ):
            await self.wait_for_delivery()
        committed = settler.loop.create_future()
        try:
            self.storage.submit(writes, outbox, lambda error: settler.settle(committed, error), seen, records)
        except SpoolFull:
            self.storage.release(seen)
            self.metrics.spool_full.set(1)
            self.metrics.rejected.labels("spool_full").inc()
            raise
        await committed
        self.metrics.spool_full.set(0)
        accepted = self.accepted.get(source)
        if accepted is None:
            accepted = self.accepted[source] = self.metrics.events_accepted.labels(source)
        accepted.inc(events)
        for item in outbox:
            worker = self.workers.get(item.downstream)
            if worker is not None and item.downstream in ("alertmanager", "notify", "notifications"):
                worker.wake.set()
        loki = self.workers.get("loki")
        if (
            loki is not None
            and not loki.wake.is_set()
            and self.storage.pending_total() >= self.settings.loki_batch_max_entries
        ):
            loki.wake.set()
        if self.integrations:
            self.integrations.wake(self.storage.pending_total())

    async def wait_for_delivery(self) -> None:
        """Until the backlog is under backpressure_pending_items, a worker fails or the wait is up."""
        limit = self.settings.backpressure_pending_items
        started = time.monotonic()
        deadline = started + self.settings.backpressure_max_wait_seconds
        while (
            self.storage.pending_total() >= limit
            and not any(worker.failures for worker in self.workers.values())
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(BACKPRESSURE_POLL_SECONDS)
        self.metrics.backpressure.inc(time.monotonic() - started)


class _Settler:
    """Resolves commit futures on their event loop: one wake-up of the loop per group commit, not one per
    request."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.ready: list[tuple[asyncio.Future[None], BaseException | None]] = []

    def settle(self, future: asyncio.Future[None], error: BaseException | None) -> None:
        """Called from the storage's writer thread."""
        with self.lock:
            self.ready.append((future, error))
            if len(self.ready) > 1:
                return  # a drain is already scheduled
        self.loop.call_soon_threadsafe(self.drain)

    def drain(self) -> None:
        with self.lock:
            ready, self.ready = self.ready, []
        for future, error in ready:
            if future.done():  # the request was cancelled meanwhile; its writes are committed anyway
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
