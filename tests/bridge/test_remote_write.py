"""Entity series by Prometheus remote write (`remote_write_url`): the wire format against the protobuf
package, the same series as through Pushgateway in the real Prometheus, staleness on deletion and expiry,
a receiver down and back, a refused series dead-lettered alone."""

from __future__ import annotations

import math
import struct
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from bridge.conftest import Bridge, BridgeFactory, default_config
from bridge.test_durability import Load
from fakes.http import Answer, Request
from fakes.remote_write import RemoteWriteReceiver, Sample, decode, key
from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.sinks.remote_write import RemoteWriteSink, classify
from pushgateway_bridge.sinks.remote_write_proto import (
    STALE_NAN,
    FlushEncoder,
    TimeSeries,
    compress,
    encode,
    is_stale,
    labels_of,
)
from stack import Prometheus, ServerProcess, Stack, binary, free_port, wait_until
from stack.prometheus import prometheus_config

RECEIVER_FLAG = "--web.enable-remote-write-receiver"
# The series a query sees of the bridge's entities (Pushgateway's own push_*_seconds left out).
ENTITY_SERIES = '{__name__=~"(scheduler|service|pipeline|sidecar_job)_.+", job!=""}'
HEADERS_V1 = {
    "content-type": "application/x-protobuf",
    "content-encoding": "snappy",
    "x-prometheus-remote-write-version": "0.1.0",
}


def write_request(series: list[TimeSeries]) -> Request:
    return Request("POST", "/api/v1/write", {}, HEADERS_V1, compress(encode(series)))


def test_write_request_decodes_with_the_protobuf_package() -> None:
    labels = labels_of("scheduler_info", {"scheduler_id": "a/b", "owner_email": "", "job": "scheduler"})
    assert labels == (("__name__", "scheduler_info"), ("job", "scheduler"), ("scheduler_id", "a/b"))
    series = [
        TimeSeries(labels, ((1.0, 1_700_000_000_000), (0.25, 1_700_000_001_000))),
        TimeSeries(labels_of("x_total", {"v": "ü ✓"}), ((STALE_NAN, 2**40),)),
    ]
    samples = decode(write_request(series))
    assert samples[:2] == [
        Sample(dict(labels), 1.0, 1_700_000_000_000),
        Sample(dict(labels), 0.25, 1_700_000_001_000),
    ]
    assert samples[2].labels == {"__name__": "x_total", "v": "ü ✓"}
    assert samples[2].timestamp_ms == 2**40
    assert struct.pack("<d", samples[2].value).hex() == "020000000000f07f"  # 0x7ff0000000000002
    assert is_stale(samples[2].value) and not is_stale(math.nan)


def test_the_flush_encoder_writes_what_the_plain_encoder_writes() -> None:
    """The cached fast path, across a change of the timestamp's encoded size (2**35 ms needs one byte
    more than 2**34) and a series that comes back."""
    a = labels_of("m", {"job": "x", "k": "1"})
    b = labels_of("n_total", {"job": "x"})
    encoder = FlushEncoder()
    for rows, timestamp in (
        ([(a, 1.0), (b, 2.5)], 2**34 - 1),
        ([(a, STALE_NAN)], 2**35),
        ([(b, -0.0), (a, 1e300)], 2**35 + 1),
    ):
        expected = encode([TimeSeries(labels, ((value, timestamp),)) for labels, value in rows])
        assert encoder.encode(rows, timestamp) == expected
        encoder.retain([b])
    assert [s.labels for s in decode(write_request([TimeSeries(a, ((1.0, 5),))]))] == [dict(a)]


@pytest.mark.parametrize("bad_name", ["0x", "a-b", "__name__", ""])
def test_label_names_the_format_forbids_are_refused(bad_name: str) -> None:
    with pytest.raises(ValueError, match="invalid label name"):
        labels_of("m", {bad_name: "v"})


def test_the_strict_receiver_refuses_unsorted_labels() -> None:
    unsorted = TimeSeries((("__name__", "m"), ("b", "1"), ("a", "2")), ((1.0, 1),))
    with pytest.raises(Exception, match="400"):
        decode(write_request([unsorted]))


@pytest.mark.parametrize(
    ("status", "retried"),
    [
        (500, True),
        (502, True),
        (503, True),
        (429, True),
        (401, True),  # as `auth`: the bridge's rule for credentials
        (403, True),
        (400, False),
        (404, False),
        (408, False),
    ],
)
def test_only_5xx_429_and_credentials_are_retried(status: int, retried: bool) -> None:
    permanent, _kind = classify(status)
    assert permanent is not retried


# --- against the real Prometheus ------------------------------------------------------------------------


def remote_write_config(**extra: Any) -> dict[str, Any]:
    return {**default_config(), **extra}


def start_bridge(
    bridge_factory: BridgeFactory, write_url: str, data_dir: Path | None = None, **config: Any
) -> Bridge:
    # The Pushgateway URL points nowhere: with remote_write_url set it must not be used.
    return bridge_factory(
        f"http://127.0.0.1:{free_port()}",
        config=remote_write_config(**config),
        data_dir=data_dir,
        extra_env={"BRIDGE_REMOTE_WRITE_URL": write_url},
    )


def post(bridge: Bridge, path: str, body: dict[str, Any], method: str = "post") -> None:
    response = requests.request(method, bridge.url + path, json=body, headers=bridge.headers(), timeout=5)
    assert response.ok, (path, response.status_code, response.text)


def every_kind_of_request(bridge: Bridge) -> None:
    """Requests that touch every series of the catalogue (empty labels and one-hot series included)."""
    schedulers = "/api/v1/schedulers"
    post(bridge, f"{schedulers}/register", {"scheduler_id": "eod", "service_name": "S", "job_name": "J"})
    post(bridge, f"{schedulers}/eod/heartbeat", {})
    post(bridge, f"{schedulers}/eod/status", {"status": "running"}, "put")
    post(bridge, f"{schedulers}/eod/status", {"status": "completed", "execution_time_ms": 1500}, "put")
    post(bridge, f"{schedulers}/eod/status", {"status": "failed", "error_message": "disk"}, "put")
    post(bridge, "/services/", {"name": "api", "status": "up"})
    post(bridge, "/metrics/", {"service": "api", "metric_type": "cpu", "value": 42.5})
    post(bridge, "/alerts/", {"title": "t", "message": "m", "severity": "critical", "service": "api"})
    post(
        bridge,
        "/pipelines/",
        {"pipeline_type": "training", "status": "running", "metadata": {"progress": 40, "step": "fit"}},
    )
    event = {
        "event_id": str(uuid.uuid4()),
        "site_id": "site1",
        "app": {"name": "loader", "version": "2.1"},
        "entity_type": "job",
        "business_key": "order/42",
        "kind": "progress",
        "progress": 0.5,
    }
    post(bridge, "/v1/event", event)


def series_of(prometheus: Prometheus) -> dict[tuple[tuple[str, str], ...], float]:
    return {key(sample["metric"]): float(sample["value"][1]) for sample in prometheus.query(ENTITY_SERIES)}


def complete(series: dict[tuple[tuple[str, str], ...], float]) -> dict[Any, float] | None:
    """`series` once the last change of each kind of `every_kind_of_request` is in it."""
    last_changes = [
        (("__name__", "scheduler_runs_total"), ("outcome", "failure")),
        (("__name__", "service_alerts_total"), ("severity", "critical")),
        (("__name__", "pipeline_step_info"), ("step", "fit")),
        (("__name__", "sidecar_job_progress_ratio"),),
    ]
    found = [any(set(want) <= set(k) and v > 0 for k, v in series.items()) for want in last_changes]
    return series if all(found) else None


def test_remote_write_gives_the_series_the_pushgateway_path_gives(
    stack: Stack, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    """The same requests, taken once, as the Pushgateway path and the remote-write path show them: the
    bridge runs on Pushgateway (scraped by one Prometheus), then on the same data by remote write to a
    second Prometheus, so every value (receipt times included) must be equal, and every label."""
    pushgateway = stack.pushgateway()
    scraping = stack.prometheus([pushgateway.url.split("://")[1]], honor_labels=True)
    receiving = stack.prometheus(extra_args=[RECEIVER_FLAG])
    data_dir = tmp_path / "one-bridge"
    bridge = bridge_factory(pushgateway.url, data_dir=data_dir)
    every_kind_of_request(bridge)
    scraped = wait_until(lambda: complete(series_of(scraping)), timeout=20, what="the pushed series")
    bridge.process.stop()

    start_bridge(bridge_factory, receiving.url + "/api/v1/write", data_dir=data_dir)
    written = wait_until(lambda: complete(series_of(receiving)), timeout=20, what="the written series")

    assert set(written) == set(scraped)
    assert written == scraped
    # The labels are those of the Pushgateway path: job and grouping labels, no instance, no empty label.
    info = dict(next(k for k in written if ("__name__", "scheduler_info") in k))
    assert info == {
        "__name__": "scheduler_info",
        "job": "scheduler",
        "scheduler_id": "eod",
        "service_name": "S",
        "job_name": "J",
    }


def absent(prometheus: Prometheus, expr: str) -> bool:
    return not prometheus.query(expr)


def test_deleted_expired_and_relabelled_series_go_stale_at_once(
    stack: Stack, bridge_factory: BridgeFactory
) -> None:
    """A staleness marker, not 5 minutes of silence: each series is absent from an instant query as soon
    as the bridge has written once more (waits are far below Prometheus' 5-minute lookback)."""
    prometheus = stack.prometheus(extra_args=[RECEIVER_FLAG])
    bridge = start_bridge(bridge_factory, prometheus.url + "/api/v1/write", group_ttl_seconds={"sidecar": 2})
    every_kind_of_request(bridge)
    prometheus.wait_for('scheduler_info{scheduler_id="eod"}')
    prometheus.wait_for('pipeline_step_info{pipeline_type="training",step="fit"}')
    prometheus.wait_for('sidecar_job_info{business_key="order/42"}')

    requests.delete(
        f"{bridge.url}/api/v1/schedulers/eod", headers=bridge.headers(), timeout=5
    ).raise_for_status()
    wait_until(lambda: absent(prometheus, '{scheduler_id="eod"}'), timeout=10, what="eod stale")
    assert bridge.own_metric("bridge_forwarded_total", downstream="remote_write")

    post(
        bridge,
        "/pipelines/",
        {"pipeline_type": "training", "status": "running", "metadata": {"step": "eval"}},
    )
    prometheus.wait_for('pipeline_step_info{pipeline_type="training",step="eval"}')
    assert absent(prometheus, 'pipeline_step_info{step="fit"}')
    assert prometheus.value('pipeline_progress_ratio{pipeline_type="training"}') == 0.4

    # The sidecar job expires after 2 s of silence: its series go, the pipeline's stay.
    wait_until(lambda: absent(prometheus, '{business_key="order/42"}'), timeout=15, what="expiry")
    assert bridge.own_metric("bridge_groups_expired_total", job="sidecar") == 1
    assert prometheus.query('pipeline_status{pipeline_type="training",status="running"} == 1')


def prometheus_on(stack: Stack, port: int, data_dir: Path) -> ServerProcess:
    """A remote-write-receiving Prometheus on a fixed port and data directory, so it can be restarted."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = prometheus_config(
        [], scrape_configs=[], rule_files=[], alertmanager_url=None, interval="1s", honor_labels=True
    )
    config_path = data_dir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary("prometheus"),
        f"--config.file={config_path}",
        f"--storage.tsdb.path={data_dir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        RECEIVER_FLAG,
    ]
    return stack.process("prometheus", argv, url, "/-/ready")


def test_a_receiver_down_is_retried_and_nothing_is_lost(
    stack: Stack, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    port = free_port()
    server = prometheus_on(stack, port, tmp_path / "receiver")
    prometheus = Prometheus(server, tmp_path / "receiver" / "prometheus.yml")
    bridge = start_bridge(bridge_factory, f"{server.url}/api/v1/write")
    schedulers = "/api/v1/schedulers"
    for scheduler in ("kept", "dropped"):
        post(
            bridge,
            f"{schedulers}/register",
            {"scheduler_id": scheduler, "service_name": "S", "job_name": "J"},
        )
    prometheus.wait_for('scheduler_info{scheduler_id="dropped"}')

    server.stop()
    runs = 5
    for _ in range(runs):
        post(bridge, f"{schedulers}/kept/status", {"status": "running"}, "put")
        post(bridge, f"{schedulers}/kept/status", {"status": "completed"}, "put")
    requests.delete(
        f"{bridge.url}{schedulers}/dropped", headers=bridge.headers(), timeout=5
    ).raise_for_status()
    wait_until(
        lambda: bridge.own_metric("bridge_downstream_up", downstream="remote_write") == 0,
        what="the bridge to notice the receiver is down",
    )
    assert (
        bridge.own_metric("bridge_forward_errors_total", downstream="remote_write", kind="unreachable") or 0
    ) >= 1

    server = prometheus_on(stack, port, tmp_path / "receiver")
    prometheus = Prometheus(server, tmp_path / "receiver" / "prometheus.yml")
    prometheus.wait_for(f'scheduler_runs_total{{scheduler_id="kept",outcome="success"}} == {runs}')
    wait_until(lambda: absent(prometheus, '{scheduler_id="dropped"}'), timeout=10, what="dropped stale")
    assert bridge.own_metric("bridge_downstream_up", downstream="remote_write") == 1
    assert bridge.own_metric("bridge_dead_letters_total", downstream="remote_write") is None


# --- against the strict receiver ------------------------------------------------------------------------


def test_a_refused_series_is_dead_lettered_alone(bridge_factory: BridgeFactory) -> None:
    """The receiver holds a newer sample of one series (another writer's), so the bridge's is out of order
    and Prometheus-like, the request is answered 400: that series is dead-lettered (never retried with
    backoff) and every other series of the same request is written."""
    with RemoteWriteReceiver() as receiver:
        refused = {"__name__": "scheduler_info", "job": "scheduler", "scheduler_id": "eod"}
        refused |= {"service_name": "S", "job_name": "J"}
        future = 2**45  # year 3084, in ms
        receiver.last[key(refused)] = Sample(refused, 1.0, future)
        bridge = start_bridge(bridge_factory, receiver.write_url)
        post(
            bridge,
            "/api/v1/schedulers/register",
            {"scheduler_id": "eod", "service_name": "S", "job_name": "J"},
        )
        wait_until(
            lambda: bridge.own_metric("bridge_dead_letters_total", downstream="remote_write"),
            what="a dead letter",
        )
        status = {"__name__": "scheduler_status", "job": "scheduler", "scheduler_id": "eod"}
        wait_until(lambda: receiver.latest().get(key({**status, "status": "pending"})) == 1.0)
        assert any("out of order" in reason for reason in receiver.rejections)
        # The request's other series are sent again without the refused one, not necessarily in one write:
        # wait for them all rather than take the first one seen for the rest.
        others = {"scheduler_status", "scheduler_runs_total", "scheduler_registered_timestamp_seconds"}
        wait_until(
            lambda: others <= {dict(k)["__name__"] for k in receiver.latest()}, what="the other series"
        )
        assert not [sample for sample in receiver.accepted if sample.labels == refused]
        assert receiver.last[key(refused)].timestamp_ms == future
        errors = bridge.own_metric("bridge_forward_errors_total", downstream="remote_write", kind="rejected")
        assert errors and errors >= 1
        assert bridge.own_metric("bridge_downstream_up", downstream="remote_write") == 1


@pytest.mark.parametrize(("status", "kind"), [(429, "http_429"), (503, "http_503"), (401, "auth")])
def test_transient_answers_are_retried(bridge_factory: BridgeFactory, status: int, kind: str) -> None:
    with RemoteWriteReceiver() as receiver:
        receiver.fail_next(Answer.text(status, "not now"), times=3)
        bridge = start_bridge(bridge_factory, receiver.write_url)
        post(bridge, "/services/", {"name": "api", "status": "up"})
        series = {"__name__": "service_status", "job": "service", "service": "api", "status": "up"}
        wait_until(lambda: receiver.latest().get(key(series)) == 1.0, what=f"the series after {status}s")
        assert bridge.own_metric("bridge_forward_errors_total", downstream="remote_write", kind=kind) == 3
        assert bridge.own_metric("bridge_dead_letters_total", downstream="remote_write") is None
        assert not receiver.rejections


def test_a_refusal_of_the_whole_request_is_not_halved(bridge_factory: BridgeFactory) -> None:
    """A 404 (a wrong URL) says nothing about single series: each flush's request is dead-lettered whole,
    one request a flush, not one per series."""
    with RemoteWriteReceiver() as receiver:
        bridge = start_bridge(bridge_factory, receiver.url + "/api/v1/wrong")
        post(bridge, "/services/", {"name": "api", "status": "up"})

        def dead() -> float:
            return bridge.own_metric("bridge_dead_letters_total", downstream="remote_write") or 0

        wait_until(lambda: dead() >= 30, what="a few flushes dead-lettered")
        dead_letters = dead()
        # The service has 9 series: k flushes are 9k dead letters in k requests (halving: 17 a flush).
        assert receiver.requests_seen * 2 < dead_letters
        assert bridge.own_metric("bridge_forward_errors_total", downstream="remote_write", kind="rejected")


def test_bridges_on_one_postgresql_write_through_one_of_them(
    bridge_factory: BridgeFactory, postgres_url: str
) -> None:
    """Two bridges share the state: one of them writes the series (two writers would interleave samples
    out of order, which the receiver refuses); killed, the other takes over and nothing it took is lost."""
    with RemoteWriteReceiver() as receiver:
        env = {"BRIDGE_REMOTE_WRITE_URL": receiver.write_url, "BRIDGE_STORAGE_URL": postgres_url}
        bridges = [
            bridge_factory(f"http://127.0.0.1:{free_port()}", config=remote_write_config(), extra_env=env)
            for _ in range(2)
        ]
        schedulers = "/api/v1/schedulers"
        post(
            bridges[0],
            f"{schedulers}/register",
            {"scheduler_id": "eod", "service_name": "S", "job_name": "J"},
        )
        for n in range(6):  # runs taken by either bridge
            post(bridges[n % 2], f"{schedulers}/eod/status", {"status": "running"}, "put")
            post(bridges[n % 2], f"{schedulers}/eod/status", {"status": "completed"}, "put")
        runs = {"__name__": "scheduler_runs_total", "job": "scheduler", "scheduler_id": "eod"}
        success = key({**runs, "outcome": "success"})
        wait_until(lambda: receiver.latest().get(success) == 6, what="6 runs written")

        def writing(bridge: Bridge) -> bool:
            return bool(bridge.own_metric("bridge_forwarded_total", downstream="remote_write"))

        writers = [bridge for bridge in bridges if writing(bridge)]
        assert len(writers) == 1
        (other,) = [bridge for bridge in bridges if bridge is not writers[0]]
        writers[0].process.kill()
        post(other, f"{schedulers}/eod/status", {"status": "running"}, "put")
        post(other, f"{schedulers}/eod/status", {"status": "completed"}, "put")
        wait_until(lambda: receiver.latest().get(success) == 7, timeout=20, what="the other bridge writing")
        assert not receiver.rejections


def test_a_tenant_is_sent_as_x_scope_orgid(bridge_factory: BridgeFactory) -> None:
    with RemoteWriteReceiver() as receiver:
        bridge = bridge_factory(
            f"http://127.0.0.1:{free_port()}",
            config=remote_write_config(remote_write_tenant="site-a"),
            extra_env={"BRIDGE_REMOTE_WRITE_URL": receiver.write_url},
        )
        post(bridge, "/services/", {"name": "api", "status": "up"})
        wait_until(receiver.latest, what="a write")
        assert receiver.tenants == {"site-a"}


def test_errors_do_not_show_a_password_in_the_url() -> None:
    sink = RemoteWriteSink(f"http://writer:s3cret@127.0.0.1:{free_port()}/api/v1/write", None, 1.0)
    with pytest.raises(SinkError) as raised:
        sink.write(b"")
    assert "s3cret" not in raised.value.message
    assert "POST http://127.0.0.1:" in raised.value.message
    assert not raised.value.permanent


def test_a_steady_load_through_two_bridges_is_written_once_when_the_writer_is_killed(
    bridge_factory: BridgeFactory, postgres_url: str
) -> None:
    """Sidecar runs through both bridges on one PostgreSQL; SIGKILL the one writing: every acknowledged run
    is in the receiver's runs_total, counted once (one more at most: the request in flight at the kill
    may have committed unanswered), and the receiver refused nothing."""
    with RemoteWriteReceiver() as receiver:
        env = {"BRIDGE_REMOTE_WRITE_URL": receiver.write_url, "BRIDGE_STORAGE_URL": postgres_url}
        bridges = [
            bridge_factory(f"http://127.0.0.1:{free_port()}", config=remote_write_config(), extra_env=env)
            for _ in range(2)
        ]
        loads = [Load(bridge.url).start() for bridge in bridges]
        wait_until(lambda: all(len(load.acked) >= 100 for load in loads), timeout=30, what="100 runs each")
        writer = wait_until(
            lambda: next(
                (b for b in bridges if b.own_metric("bridge_forwarded_total", downstream="remote_write")),
                None,
            ),
            what="one bridge writing",
        )
        survivor = loads[1 - bridges.index(writer)]
        writer.process.kill()
        before = len(survivor.acked)
        wait_until(lambda: len(survivor.acked) >= before + 100, timeout=30, what="100 more runs")
        for load in loads:
            load.stop()
        acked = sum(len(load.acked) for load in loads)

        def written() -> float:
            return sum(
                value
                for labels, value in receiver.latest().items()
                if ("__name__", "sidecar_job_runs_total") in labels and ("outcome", "success") in labels
            )

        wait_until(lambda: written() >= acked, timeout=30, what=f"{acked} runs written")
        assert written() <= acked + 1
        assert not receiver.rejections
