"""Fault injection on loopback: SIGKILL, Pushgateway restarted empty, Loki down then up, spool full."""

from __future__ import annotations

import threading
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import requests

from bridge.conftest import ADMIN_KEY, BridgeFactory, default_config
from fakes.loki import LokiReceiver
from stack import Pushgateway, ServerProcess, Stack, binary, free_port, wait_until

HEADERS = {"x-api-key": ADMIN_KEY}


def start_pushgateway(stack: Stack, port: int, data_dir: Path) -> ServerProcess:
    """A Pushgateway on a fixed port, so it can be restarted where the bridge expects it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        binary("pushgateway"),
        f"--web.listen-address=127.0.0.1:{port}",
        f"--persistence.file={data_dir / 'pushgateway.data'}",
        "--push.disable-consistency-check",
    ]
    return stack.process("pushgateway", argv, f"http://127.0.0.1:{port}", "/-/ready")


def pushed_value(pushgateway_url: str, series: str) -> float | None:
    for line in requests.get(f"{pushgateway_url}/metrics", timeout=5).text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def has_value(url: str, series: str, expected: float) -> bool:
    return pushed_value(url, series) == expected


def counts_all_acked(url: str, series: str, acked: int, unanswered: int) -> bool:
    """Every acknowledged event is counted; a request that got no answer (the bridge killed mid-request, a
    client time-out) may have been committed, so it may be counted too, but nothing else."""
    value = pushed_value(url, series)
    return value is not None and acked <= value <= acked + unanswered


def sidecar_event(key: str, kind: str = "progress", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "site_id": "site1",
        "app": {"name": "load", "version": "1"},
        "entity_type": "job",
        "business_key": key,
        "kind": kind,
        **extra,
    }


class Load:
    """Steady load: sidecar finished events across a few jobs; records what got a 2xx and what got no
    answer at all."""

    def __init__(self, url: str, jobs: int = 5) -> None:
        self.url = url
        self.jobs = jobs
        self.acked: list[dict[str, Any]] = []
        self.unanswered: list[dict[str, Any]] = []
        self.refused = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        session = requests.Session()
        n = 0
        while not self.stopping.is_set():
            body = sidecar_event(f"job-{n % self.jobs}", "finished")
            try:
                response = session.post(f"{self.url}/v1/event", json=body, headers=HEADERS, timeout=2)
            except requests.RequestException:
                self.unanswered.append(body)
                self.refused += 1
                time.sleep(0.02)
                continue
            if response.status_code == 202:
                self.acked.append(body)
                n += 1
            else:
                self.refused += 1
            time.sleep(0.002)

    def start(self) -> Load:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def runs_per_job(self) -> dict[str, int]:
        return per_job(self.acked)

    def unanswered_per_job(self) -> dict[str, int]:
        return per_job(self.unanswered)


def per_job(bodies: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for body in bodies:
        counts[body["business_key"]] = counts.get(body["business_key"], 0) + 1
    return counts


def runs_series(key: str) -> str:
    return (
        f'sidecar_job_runs_total{{app="load",business_key="{key}",entity_type="job",instance="",'
        f'job="sidecar",outcome="success",site="site1"}}'
    )


def test_sigkill_right_after_answers_loses_nothing(
    stack: Stack, tmp_path: Path, loki: LokiReceiver, bridge_factory: BridgeFactory
) -> None:
    pushgateway = start_pushgateway(stack, free_port(), tmp_path / "pg")
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url, data_dir=tmp_path / "bridge")
    port = int(bridge.url.rsplit(":", 1)[1])
    load = Load(bridge.url).start()
    wait_until(lambda: len(load.acked) >= 200, timeout=20, what="200 acknowledged events")
    bridge.process.kill()  # SIGKILL while requests are in flight
    load.stop()
    acked = list(load.acked)
    assert len(acked) >= 200

    bridge_factory(pushgateway.url, loki_url=loki.url, data_dir=tmp_path / "bridge", port=port)
    unanswered = load.unanswered_per_job()
    for key, runs in load.runs_per_job().items():
        extra = unanswered.get(key, 0)
        wait_until(
            partial(counts_all_acked, pushgateway.url, runs_series(key), runs, extra),
            timeout=15,
            what=f"{key} runs_total in [{runs}, {runs + extra}] in Pushgateway",
        )
    ids = {body["event_id"] for body in acked}
    wait_until(lambda: ids <= set(loki.event_ids()), timeout=15, what="every acknowledged event in Loki")
    assert loki.duplicates() == {}
    assert loki.rejections == []


def test_pushgateway_restarted_empty_is_restored(
    stack: Stack, tmp_path: Path, bridge_factory: BridgeFactory
) -> None:
    port = free_port()
    first = start_pushgateway(stack, port, tmp_path / "pg1")
    bridge = bridge_factory(first.url)
    api = f"{bridge.url}/api/v1/schedulers"
    for i in range(20):
        body = {"scheduler_id": f"sched-{i}", "service_name": "S", "job_name": "J"}
        requests.post(f"{api}/register", json=body, headers=HEADERS, timeout=5).raise_for_status()
        requests.put(
            f"{api}/sched-{i}/status", json={"status": "completed"}, headers=HEADERS, timeout=5
        ).raise_for_status()
    series = 'scheduler_runs_total{instance="",job="scheduler",outcome="success",scheduler_id="sched-19"}'
    wait_until(lambda: pushed_value(first.url, series) == 1, what="pushed before the restart")
    first.stop()
    second = start_pushgateway(stack, port, tmp_path / "pg2")  # a new, empty Pushgateway
    wait_until(
        lambda: all(
            pushed_value(second.url, series.replace("sched-19", f"sched-{i}")) == 1 for i in range(20)
        ),
        timeout=15,
        what="every group restored",
    )
    assert "restoring every group" in bridge.process.log()


def test_downstreams_down_then_up_under_load(
    stack: Stack, tmp_path: Path, bridge_factory: BridgeFactory
) -> None:
    port = free_port()
    pushgateway = start_pushgateway(stack, port, tmp_path / "pg1")
    loki = LokiReceiver().start()
    loki_port = loki.port
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url)
    load = Load(bridge.url).start()
    try:
        wait_until(lambda: len(load.acked) >= 50, what="load running")
        pushgateway.stop()
        loki.stop()
        wait_until(
            lambda: (
                bridge.own_metric("bridge_downstream_up", downstream="loki") == 0
                and bridge.own_metric("bridge_downstream_up", downstream="pushgateway") == 0
            ),
            what="the bridge seeing both downstreams gone",
        )
        during = len(load.acked)
        wait_until(
            lambda: len(load.acked) >= during + 50, what="requests accepted while downstreams are down"
        )
        assert bridge.own_metric("bridge_downstream_up", downstream="loki") == 0
        assert bridge.own_metric("bridge_outbox_pending", downstream="loki")
        revived = LokiReceiver(loki_port).start()
        start_pushgateway(stack, port, tmp_path / "pg2")
        wait_until(lambda: len(load.acked) >= during + 100, what="more load after recovery")
    finally:
        load.stop()
    try:
        ids = {body["event_id"] for body in load.acked}
        received = loki.event_ids() + revived.event_ids()
        wait_until(
            lambda: ids <= set(loki.event_ids() + revived.event_ids()),
            timeout=20,
            what="every accepted event in Loki",
        )
        received = loki.event_ids() + revived.event_ids()
        assert {event_id: n for event_id, n in received.items() if n > 1} == {}
        unanswered = load.unanswered_per_job()
        for key, runs in load.runs_per_job().items():
            wait_until(
                partial(counts_all_acked, pushgateway.url, runs_series(key), runs, unanswered.get(key, 0)),
                timeout=15,
                what=f"final state of {key}",
            )
        assert bridge.own_metric("bridge_downstream_up", downstream="loki") == 1
        assert (
            bridge.own_metric("bridge_forward_errors_total", downstream="loki", kind="unreachable") or 0
        ) > 0
    finally:
        revived.stop()


def test_spool_full_then_recovery(
    pushgateway: Pushgateway, loki: LokiReceiver, bridge_factory: BridgeFactory
) -> None:
    config = {**default_config(), "spool_max_events": 30}
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url, config=config)
    loki.fail_with = 503
    url = f"{bridge.url}/v1/event"
    answers = [requests.post(url, json=sidecar_event("k"), headers=HEADERS, timeout=5) for _ in range(31)]
    assert [a.status_code for a in answers[:30]] == [202] * 30
    assert answers[30].status_code == 503
    assert int(answers[30].headers["Retry-After"]) >= 1
    assert "spool full" in answers[30].json()["detail"]
    assert bridge.own_metric("bridge_spool_full") == 1
    assert bridge.own_metric("bridge_rejected_total", reason="spool_full") == 1
    loki.fail_with = None
    wait_until(
        lambda: requests.post(url, json=sidecar_event("k"), headers=HEADERS, timeout=5).status_code == 202,
        timeout=15,
        what="accepting again after Loki recovered",
    )
    assert bridge.own_metric("bridge_spool_full") == 0
    wait_until(lambda: len(loki.event_ids()) == 31, what="all 31 accepted events delivered")


def test_permanent_loki_error_is_not_retried(
    pushgateway: Pushgateway, loki: LokiReceiver, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url)
    loki.fail_with = 400
    rejected = sidecar_event("k")
    requests.post(f"{bridge.url}/v1/event", json=rejected, headers=HEADERS, timeout=5).raise_for_status()
    wait_until(
        lambda: bridge.own_metric("bridge_dead_letters_total", downstream="loki") == 1,
        what="dead-lettered after one permanent error",
    )
    # Nothing is left to retry: a transient error would have kept the item pending with a retry time.
    assert bridge.own_metric("bridge_outbox_pending", downstream="loki") == 0
    assert bridge.own_metric("bridge_forward_errors_total", downstream="loki", kind="rejected") == 1
    # Loki accepts again; the next event goes through, the dead-lettered one never comes back.
    loki.fail_with = None
    accepted = sidecar_event("k")
    requests.post(f"{bridge.url}/v1/event", json=accepted, headers=HEADERS, timeout=5).raise_for_status()
    wait_until(loki.event_ids, what="the next event delivered")
    assert set(loki.event_ids()) == {accepted["event_id"]}
    assert loki.failed == 1
    assert bridge.own_metric("bridge_forward_errors_total", downstream="loki", kind="rejected") == 1


def test_loki_refusing_the_credentials_keeps_events_until_it_takes_them(
    pushgateway: Pushgateway, loki: LokiReceiver, bridge_factory: BridgeFactory
) -> None:
    """401/403 is a configuration problem, not a verdict on the event: nothing is dead-lettered."""
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url)
    loki.fail_with = 401
    event = sidecar_event("k")
    requests.post(f"{bridge.url}/v1/event", json=event, headers=HEADERS, timeout=5).raise_for_status()
    wait_until(
        lambda: (bridge.own_metric("bridge_forward_errors_total", downstream="loki", kind="auth") or 0) >= 1,
        what="the refusal counted as an auth error",
    )
    assert bridge.own_metric("bridge_outbox_pending", downstream="loki") == 1
    assert (bridge.own_metric("bridge_dead_letters_total", downstream="loki") or 0) == 0
    loki.fail_with = None  # the credentials are fixed
    wait_until(lambda: event["event_id"] in loki.event_ids(), timeout=20, what="the kept event delivered")


def test_not_implemented_is_permanent(
    pushgateway: Pushgateway, loki: LokiReceiver, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url)
    loki.fail_with = 501
    requests.post(
        f"{bridge.url}/v1/event", json=sidecar_event("k"), headers=HEADERS, timeout=5
    ).raise_for_status()
    wait_until(
        lambda: bridge.own_metric("bridge_dead_letters_total", downstream="loki") == 1,
        what="dead-lettered after 501",
    )
    assert loki.failed == 1
