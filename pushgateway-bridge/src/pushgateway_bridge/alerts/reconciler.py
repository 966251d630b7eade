"""Keeps Prometheus' API rules equal to the stored ones: at start and every `restore_check_interval_seconds`
it compares the alert ids Prometheus has loaded with the stored ones and, when they differ (Prometheus was
down, restarted with an old file, the file was lost or edited), rewrites the file and reloads."""

from __future__ import annotations

import logging
import threading

from pushgateway_bridge.alerts.rulefile import read
from pushgateway_bridge.alerts.rules import render_rule_file
from pushgateway_bridge.alerts.service import APPLIED, AlertService
from pushgateway_bridge.queries.prometheus import PrometheusUnavailable
from pushgateway_bridge.storage.base import StorageUnavailable

log = logging.getLogger(__name__)


def in_step(alerts: AlertService) -> bool:
    """True when the file and Prometheus hold exactly the stored alerts (False when Prometheus is down)."""
    live = alerts.live()
    if read(alerts.rule_file) != render_rule_file(body["rule"] for body in live):
        return False
    if alerts.prometheus is None:
        return True
    try:
        groups = alerts.prometheus.rule_groups()
    except PrometheusUnavailable:
        return False
    loaded = sorted(
        rule["labels"]["alert_id"]
        for group in groups
        for rule in group.get("rules", [])
        if "alert_id" in rule.get("labels", {})
    )
    return loaded == sorted(body["id"] for body in live)


class AlertReconciler(threading.Thread):
    def __init__(self, alerts: AlertService, interval_seconds: float) -> None:
        super().__init__(name="alert-reconciler", daemon=True)
        self.alerts = alerts
        self.interval = interval_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                if not in_step(self.alerts) and self.alerts.apply() == APPLIED:
                    log.info("API alert rules reapplied from storage to %s", self.alerts.rule_file)
            except StorageUnavailable as exc:  # PostgreSQL away: the stored alerts are read when it is back
                log.warning("reconciling the API alert rules waits for the storage: %s", exc)
            except Exception:
                log.exception("reconciling the API alert rules failed; retrying")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
