"""Entities silent past their kind's TTL (group_ttl_seconds) made tombstones: shared by the two workers
that deliver entity state, Pushgateway's (forwarder_pushgateway.py) and remote write's
(forwarder_remote_write.py), which then delete their series downstream."""

from __future__ import annotations

import logging
import time

from pushgateway_bridge.domain.kinds import KINDS
from pushgateway_bridge.domain.state import grouping
from pushgateway_bridge.metrics import BridgeMetrics
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.storage.base import Storage

log = logging.getLogger("pushgateway_bridge.forwarder")


def expire_silent(settings: Settings, storage: Storage, metrics: BridgeMetrics) -> None:
    """Turn entities silent past their kind's TTL into tombstones (deleted downstream next)."""
    ttl = settings.group_ttl_seconds
    for kind in KINDS:
        seconds = getattr(ttl, kind)
        if seconds <= 0:
            continue
        for _key, state in storage.expire(kind, time.time() - seconds):
            job, labels = grouping(kind, state)
            log.info("expiring group job=%s %s: silent for more than %gs", job, dict(labels), seconds)
            metrics.groups_expired.labels(job).inc()
