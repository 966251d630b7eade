"""API alerts kept as records (kind `api_alert`) and applied to Prometheus: the rule file is always
rendered from storage, so a lost or hand-edited file is rewritten whole on the next change or `apply()`.

Every change runs under one lock (store, write, reload, wait), so with two clients the file and
Prometheus end in the state of the last change. A rule Prometheus refuses is rolled back (file and
record); with Prometheus down the change is stored and written, and `apply()` reloads it later.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pushgateway_bridge.alerts import rulefile
from pushgateway_bridge.alerts.models import AlertRequest
from pushgateway_bridge.alerts.rulefile import RuleFileRejected
from pushgateway_bridge.alerts.rules import build_rule, render_rule_file
from pushgateway_bridge.queries.prometheus import PrometheusClient, PrometheusUnavailable, ReloadRejected
from pushgateway_bridge.storage.base import Storage
from pushgateway_bridge.storage.group_commit import Waiter
from pushgateway_bridge.storage.records import Body, Page, RecordWrite

KIND = "api_alert"
PAGE_SIZE = 500
APPLIED = "applied"  # Prometheus evaluates the rule as stored
PENDING = "pending"  # stored and written; Prometheus has not loaded it yet (down, or still reloading)


class AlertNotFound(Exception):
    pass


class AlertService:
    def __init__(
        self,
        storage: Storage,
        rule_file: Path,
        prometheus: PrometheusClient | None,
        *,
        default_for: str,
        load_timeout_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.rule_file = rule_file
        self.prometheus = prometheus
        self.default_for = default_for
        self.load_timeout = load_timeout_seconds
        self.clock = clock
        self.lock = threading.Lock()

    # Reading the stored alerts.

    def stored(self, alert_id: str) -> Body:
        body = self.storage.record(KIND, alert_id)
        if body is None or body.get("deleted"):
            raise AlertNotFound(alert_id)
        return body

    def live(self) -> list[Body]:
        """Every API alert not deleted, oldest first (the rule file's order)."""
        found: list[Body] = []
        before: tuple[float, str] | None = None
        while True:
            page = self.storage.records(Page(KIND, before=before, limit=PAGE_SIZE))
            found += [body for _created, _key, body in page if not body.get("deleted")]
            if len(page) < PAGE_SIZE:
                return found[::-1]
            before = page[-1][0], page[-1][1]

    # Changing them.

    def create(self, request: AlertRequest) -> Body:
        now = self.clock()
        alert_id = uuid.uuid4().hex[:16]
        body = self._body(alert_id, request, created=now, now=now)
        return self._change(alert_id, body, previous=None, created=now)

    def update(self, alert_id: str, changes: dict[str, Any]) -> Body:
        """`changes` are the fields of a PUT body; fields left out keep their value."""
        with self.lock:
            previous = self.stored(alert_id)
        merged = {**previous["request"], **changes}
        # `metric` and `expr` are two ways to say what to watch: giving one replaces the other.
        for given, replaced in (("expr", "metric"), ("metric", "expr")):
            if changes.get(given) is not None and replaced not in changes:
                merged.pop(replaced, None)
        request = AlertRequest.model_validate(merged)
        body = self._body(alert_id, request, created=previous["created"], now=self.clock())
        return self._change(alert_id, body, previous=previous, created=previous["created"])

    def delete(self, alert_id: str) -> Body:
        with self.lock:
            previous = self.stored(alert_id)
        body = {**previous, "deleted": True, "updated": self.clock()}
        return self._change(alert_id, body, previous=previous, created=previous["created"])

    def apply(self) -> str:
        """Rewrite the rule file from storage and reload (start-up, Prometheus back): APPLIED or PENDING."""
        with self.lock:
            text = render_rule_file(body["rule"] for body in self.live())
            if rulefile.read(self.rule_file) != text:
                rulefile.write_atomic(self.rule_file, text)
            try:
                return self._reload_and_wait(lambda _groups: True)
            except ReloadRejected:
                return PENDING

    def _body(self, alert_id: str, request: AlertRequest, created: float, now: float) -> Body:
        asked = request.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if request.inferred:
            del asked["metric"]
        return {
            "id": alert_id,
            # As given, so that a PUT merges into what the client said (an inferred metric is inferred
            # again from the new name and description).
            "request": asked,
            "metric": request.metric,
            "inferred": request.inferred,
            "rule": build_rule(alert_id, request, self.default_for),
            "created": created,
            "updated": now,
            "deleted": False,
        }

    def _change(self, alert_id: str, body: Body, previous: Body | None, created: float) -> Body:
        with self.lock:
            if previous is not None:
                self.stored(alert_id)  # AlertNotFound when another client deleted it meanwhile
            others = [other["rule"] for other in self.live() if other["id"] != alert_id]
            rules = others if body["deleted"] else [*others, body["rule"]]
            text = render_rule_file(rules)
            rulefile.check(text)  # RuleFileRejected: nothing stored, nothing written
            old_text = rulefile.read(self.rule_file)
            self._store(alert_id, body, created)
            rulefile.write_atomic(self.rule_file, text)
            try:
                status = self._reload_and_wait(lambda groups: _loaded(groups, alert_id) != body["deleted"])
            except ReloadRejected as exc:
                self._store(alert_id, previous or {**body, "deleted": True}, created)
                rulefile.write_atomic(self.rule_file, old_text or render_rule_file(others))
                with contextlib.suppress(ReloadRejected):  # Prometheus keeps the rules it had
                    self._reload_and_wait(lambda _groups: True)
                raise RuleFileRejected(str(exc)) from None
            return {**body, "status": status}

    def _store(self, alert_id: str, body: Body, created: float) -> None:
        waiter = Waiter()
        self.storage.submit([], [], waiter.done, records=[RecordWrite(KIND, alert_id, "", created, body)])
        waiter.wait()

    def _reload_and_wait(self, loaded: Callable[[list[dict[str, Any]]], bool]) -> str:
        if self.prometheus is None:
            return PENDING
        try:
            self.prometheus.reload()
            deadline = time.monotonic() + self.load_timeout
            while True:
                if loaded(self.prometheus.rule_groups()):
                    return APPLIED
                if time.monotonic() > deadline:
                    return PENDING
                time.sleep(0.1)  # polling Prometheus' rules, not a synchronisation by sleep
        except PrometheusUnavailable:
            return PENDING


def _loaded(groups: list[dict[str, Any]], alert_id: str) -> bool:
    return any(
        rule.get("labels", {}).get("alert_id") == alert_id
        for group in groups
        for rule in group.get("rules", [])
    )
