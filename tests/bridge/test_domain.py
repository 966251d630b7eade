"""Pure parts: state transitions, exposition text (checked by promtool), Loki push bodies, config loading."""

from __future__ import annotations

import hashlib
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from fakes.loki import Rejected, validate
from pushgateway_bridge.auth import Authenticator, AuthError
from pushgateway_bridge.configfile import ConfigError
from pushgateway_bridge.domain import entities as ent
from pushgateway_bridge.domain.catalogue import SERIES_BY_KIND
from pushgateway_bridge.domain.events import event
from pushgateway_bridge.domain.kinds import (
    PIPELINE,
    SCHEDULER,
    SERVICE,
    SIDECAR,
    PipelineState,
    SchedulerState,
    ServiceState,
    SidecarJobState,
)
from pushgateway_bridge.domain.models.schedulers import (
    SchedulerRegistration,
    SchedulerStatus,
    SchedulerStatusUpdate,
)
from pushgateway_bridge.domain.state import GROUPS, group_path, render
from pushgateway_bridge.settings import load_settings
from pushgateway_bridge.sinks.loki import push_body
from stack import binary

T0 = 1_700_000_000.0


def scheduler_after_runs() -> SchedulerState:
    reg = SchedulerRegistration(
        scheduler_id="eod", service_name="My Service", job_name="EOD", owner_email="a@b.c"
    )
    state = ent.register_scheduler(None, reg, T0)
    state = ent.scheduler_status(state, SchedulerStatusUpdate(status=SchedulerStatus.running), T0 + 10)
    state = ent.scheduler_status(
        state, SchedulerStatusUpdate(status=SchedulerStatus.failed, error_message="x"), T0 + 40
    )
    return ent.scheduler_status(state, SchedulerStatusUpdate(status=SchedulerStatus.failed), T0 + 50)


def test_scheduler_transitions() -> None:
    state = scheduler_after_runs()
    assert state["runs"] == {"success": 0, "failure": 2}
    assert state["consecutive_failures"] == 2
    assert state["last_duration"] == 40  # from the last running status to the failure
    assert state["status_change"] == T0 + 40  # failed -> failed is not a change
    done = ent.scheduler_status(
        state,
        SchedulerStatusUpdate(
            status=SchedulerStatus.completed,
            execution_time_ms=2500,
            timestamp=datetime.fromtimestamp(T0 + 60, UTC),
        ),
        T0 + 61,
    )
    assert (done["consecutive_failures"], done["last_duration"], done["last_success"]) == (0, 2.5, T0 + 60)


def promtool_check_metrics(text: str) -> None:
    result = subprocess.run(
        [binary("promtool"), "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_exposition_omits_unknown_timestamps_and_passes_promtool() -> None:
    reg = SchedulerRegistration(scheduler_id="new", service_name='Quote "q" \\ and\nnewline', job_name="J")
    text = render(SCHEDULER, ent.register_scheduler(None, reg, T0))
    assert "scheduler_last_success_timestamp_seconds" not in text
    assert "scheduler_last_heartbeat_timestamp_seconds" not in text
    # Quotes, backslashes and newlines escaped as the text format defines; promtool reads it back.
    assert 'service_name="Quote \\"q\\" \\\\ and\\nnewline"' in text
    assert 'scheduler_status{status="pending"} 1\n' in text
    assert 'scheduler_runs_total{outcome="success"} 0\n' in text
    promtool_check_metrics(text)
    promtool_check_metrics(render(SCHEDULER, scheduler_after_runs()))


def test_labels_read_by_name_are_keys_of_their_kinds_state() -> None:
    """mypy checks every state key the domain names but these: grouping labels and info labels are state
    fields read by their label names."""
    states: dict[str, Any] = {
        SCHEDULER: SchedulerState,
        SERVICE: ServiceState,
        PIPELINE: PipelineState,
        SIDECAR: SidecarJobState,
    }
    for kind, state in states.items():
        keys = state.__required_keys__ | state.__optional_keys__
        assert set(GROUPS[kind][1]) <= keys, kind
        for series in SERIES_BY_KIND[kind]:
            if series.shape == "(1)":  # info: every label is the state field of that name
                assert set(series.labels) <= keys, series.name


def test_group_path_encodes_every_value() -> None:
    assert group_path("service", [("service", "a/b")]) == "/metrics/job/service/service@base64/YS9i"


def test_loki_push_body_is_accepted_by_the_strict_receiver() -> None:
    now = time.time()
    records = [
        event(source="scheduler", kind="status", name="S", now=now, at=now - 5 + i, fields={"i": i})
        for i in (3, 1, 2)
    ]
    records.append(event(source="scheduler", kind="status", name="S", now=now, at=1e9, fields={}))  # 2001
    body = push_body(records)
    entries = validate(body, time.time_ns())
    assert len(entries) == 4
    stamps = [int(value[0]) for value in body["streams"][0]["values"]]
    assert stamps == sorted(stamps)
    assert all(isinstance(value[0], str) for value in body["streams"][0]["values"])
    with pytest.raises(Rejected, match="string of nanoseconds"):
        validate({"streams": [{"stream": {"a": "b"}, "values": [[123, "x"]]}]}, time.time_ns())
    with pytest.raises(Rejected, match="invalid label name"):
        validate({"streams": [{"stream": {"__a": "b"}, "values": [["1", "x"]]}]}, time.time_ns())


def test_auth_rate_limit_and_config_errors() -> None:
    key = "the-secret-key"
    digest = hashlib.sha256(key.encode()).hexdigest()
    # One request per 1,000 s: the bucket holds one token, so the second request at once is refused.
    settings = load_settings(None, api_keys=[{"name": "k", "sha256": digest, "rate_per_second": 0.001}])
    auth = Authenticator(settings)
    assert auth.authenticate(key, None).name == "k"
    with pytest.raises(AuthError) as limited:
        auth.authenticate(None, f"Bearer {key}")  # the same key by the other header shares the bucket
    assert limited.value.status == 429
    assert "rate limit" in limited.value.detail and "'k'" in limited.value.detail
    assert limited.value.retry_after is not None and 900 < limited.value.retry_after <= 1000
    with pytest.raises(AuthError) as unknown:
        auth.authenticate("not-the-key", None)
    assert unknown.value.status == 401
    with pytest.raises(AuthError) as missing:
        auth.authenticate(None, None)
    assert missing.value.status == 401
    with pytest.raises(AuthError) as scheme:
        auth.authenticate(None, "Basic abc")
    assert "Bearer" in scheme.value.detail
    with pytest.raises(ConfigError) as bad:
        load_settings(None, anonymous={"services": "*", "rate_per_second": 0})
    assert bad.value.key.startswith("anonymous.")
