"""Schemathesis hooks for the two rules of the bridge's API that no JSON schema can state.

Schemathesis calls a request "schema-valid" when it matches the document, and then expects a 2xx. Two rules
of the bridge hold between a value and something outside the body's schema, so a generated request can
match the document and still be refused with 422, rightly:

- a body's `scheduler_id` (the seeds send one) must equal the path's;
- a `timestamp` may be at most 10 minutes ahead of the bridge's clock;
- a notification's `to` (and a preference's `address`) must have the form of its `channel` (an email
  address for email, E.164 for sms, ...), a `to` needs its channel, and a `template` must be one the
  bridge has, rendered with the data it needs (an unknown one is refused naming `template`);
- an alert must name what it watches (metric, a PromQL expr Prometheus parses, or words naming a metric),
  with a threshold, a service for a per-service metric, and a `for` that is a Prometheus duration.

This hook brings bodies drawn as schema-valid inside these rules, and does nothing else; bodies drawn to
violate the schema are sent as drawn. The rules themselves are tested in tests/bridge/test_scheduler_api.py
and test_sidecar_api.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import schemathesis
from schemathesis import Case, HookContext
from schemathesis.core.parameters import ParameterLocation

# A past instant for timestamps drawn in the future: any past one is as valid as another.
PAST = "2000-01-01T00:00:00Z"
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _in_the_future(value: str) -> bool:
    if not RFC3339.fullmatch(value):
        return False
    try:
        return datetime.fromisoformat(value.replace("z", "Z")) > datetime.now(UTC)
    except ValueError:  # e.g. month 13: not schema-valid either
        return False


def _past_timestamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: PAST
            if key == "timestamp" and isinstance(item, str) and _in_the_future(item)
            else _past_timestamps(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_past_timestamps(item) for item in value]
    return value


# A valid address per channel (tests/bridge/test_notification_plan.py tests the forms themselves).
ADDRESS = {
    "email": "user@example.com",
    "sms": "+15550100",
    "slack": "U0123",
    "teams": "ops",
    "webhook": "ops",
}


def _fit_notification(body: dict[str, Any]) -> None:
    channel = body.get("channel")
    # A notify without `to` takes the address from preferences, which a drawn user has none of.
    if channel in ADDRESS and "user_id" in body and "enabled" not in body and body.get("to") is None:
        body["to"] = ADDRESS[channel]
    for key in ("to", "address"):
        if isinstance(body.get(key), str):
            if channel in ADDRESS:
                body[key] = ADDRESS[channel]
            else:
                del body[key]  # realtime takes none, and without a channel there is nothing to address
    if isinstance(body.get("template"), str):
        del body["template"]  # the predefined templates need alert or job data no schema describes
    if "user_id" in body and "enabled" not in body and not (body.get("subject") or body.get("message")):
        body["message"] = "drawn by schemathesis"  # a notification says something


# The monitoring API's `time`, `start`, `end` and `step`: few drawn strings are times or durations, and the
# range's three must also make at most 11,000 points. Drawn ones are left out, so the defaults (now, the
# last hour, 60 s) apply; their refusals are tested in tests/bridge/test_monitoring_api.py.
MONITORING_TIMES = ("time", "start", "end", "step")


def _fit_monitoring(case: Case[Any]) -> None:
    if not case.path.startswith("/api/monitoring/") or not isinstance(case.query, dict):
        return
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.QUERY):
        return
    for name in MONITORING_TIMES:
        case.query.pop(name, None)


def _fit_alert(method: str, body: dict[str, Any]) -> None:
    """An alert must name what it watches (a metric, an expr Prometheus parses, or words that name one),
    with a threshold to compare a metric with and a service for a per-service metric; `for` a duration."""
    if method == "PUT":  # merged with the stored alert: `metric` or `expr` could then clash with it
        body.pop("metric", None)
        body.pop("expr", None)
        body.pop("threshold", None)
        body.pop("service", None)
    elif body.get("expr") is not None:
        body["expr"] = "up"
        body.pop("metric", None)
    else:
        body["metric"] = body.get("metric") or "host_cpu"
        if not isinstance(body.get("threshold"), int | float):
            body["threshold"] = 1
        if not str(body["metric"]).startswith("host_") and body.get("service") is None:
            body["service"] = "drawn"
    if isinstance(body.get("for"), str):
        body["for"] = "1m"


# Routes whose `start` and `end` must make a window Loki or Tempo accepts: ordered and not too long.
WINDOWED = ("/api/logs", "/api/traces")


def _fit_window(case: Case[Any]) -> None:
    """A time window is two parameters no schema relates (`end` after `start`, at most 30 d or 168 h
    apart): drawn ones are left out, so the defaults (the last hour) apply; their checks are tested in
    tests/bridge/test_logs_api.py and test_traces_api.py."""
    if not case.path.startswith(WINDOWED) or not isinstance(case.query, dict):
        return
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.QUERY):
        return
    case.query.pop("start", None)
    case.query.pop("end", None)


@schemathesis.hook
def before_call(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    """Before every request of every phase (the stateful phase fills bodies from earlier answers, after
    generation hooks ran)."""
    _fit_monitoring(case)
    _fit_window(case)
    body = case.body
    if not isinstance(body, dict) or (
        case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY)
    ):
        return
    body = _past_timestamps(body)
    _fit_notification(body)
    if case.path in ("/api/alerts", "/api/alerts/{alert_id}") and case.method in ("POST", "PUT"):
        _fit_alert(case.method, body)
    path_id = (case.path_parameters or {}).get("scheduler_id")
    if isinstance(path_id, str) and isinstance(body.get("scheduler_id"), str):
        body["scheduler_id"] = path_id
    case.body = body
