"""The delivery process (pushgateway_bridge/delivery): with SQLite storage the bridge delivers logs and
makes Pushgateway's requests from a child process. What the child settles reaches the bridge's spool
count, its metrics and state reach /metrics and /ready, a child that dies is replaced without losing an
event or a push, and it never outlives the bridge. (Every other Loki, events-file and Pushgateway test
runs through the child too: it is the default.)"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys

import psutil
import pytest
import requests

from bridge.conftest import Bridge, BridgeFactory
from bridge.test_durability import HEADERS, sidecar_event
from fakes.loki import LokiReceiver
from pushgateway_bridge.delivery.settings import DeliverySettings
from pushgateway_bridge.settings import load_settings
from stack import Pushgateway, wait_until

CHILD_MODULE = "pushgateway_bridge.delivery.child"


def delivery_children(pid: int) -> list[int]:
    """The living delivery processes `pid` started."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            if CHILD_MODULE in child.cmdline() and running(child.pid):
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def the_child(bridge: Bridge) -> int:
    children = wait_until(lambda: delivery_children(bridge.process.pid), what="the delivery process")
    assert len(children) == 1, children
    return int(children[0])


def send(bridge: Bridge, events: int) -> list[str]:
    body = {"events": [sidecar_event(f"job-{n % 3}") for n in range(events)]}
    answer = requests.post(f"{bridge.url}/v1/events/batch", json=body, headers=HEADERS, timeout=10)
    assert answer.status_code == 202, answer.text
    return list(answer.json()["event_ids"])


def register(bridge: Bridge, scheduler_id: str) -> None:
    body = {"scheduler_id": scheduler_id, "service_name": "svc", "job_name": "job"}
    answer = requests.post(
        f"{bridge.url}/api/v1/schedulers/register", json=body, headers=bridge.headers(), timeout=10
    )
    assert answer.status_code == 201, answer.text


def pushed(pushgateway: Pushgateway, scheduler_id: str) -> bool:
    return f'scheduler_id="{scheduler_id}"' in pushgateway.metrics_text()


def connected_to(pid: int, url: str) -> bool:
    port = int(url.rsplit(":", 1)[1])
    return any(c.raddr and c.raddr.port == port for c in psutil.Process(pid).net_connections("tcp"))


def ready(bridge: Bridge) -> dict[str, object]:
    answer = requests.get(f"{bridge.url}/ready", timeout=10)
    assert answer.status_code == 200
    return dict(answer.json())


def spooled(bridge: Bridge) -> int:
    return int(ready(bridge)["spool"]["pending"])  # type: ignore[index]


def test_logs_are_delivered_by_a_child_whose_settling_reaches_the_spool_count_and_metrics(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, loki: LokiReceiver
) -> None:
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url)
    the_child(bridge)
    accepted = [event_id for _ in range(3) for event_id in send(bridge, 50)]
    wait_until(lambda: set(loki.event_ids()) >= set(accepted), what="every event in Loki")
    # The spool count lives in the bridge: only the child's reports bring it down.
    wait_until(lambda: spooled(bridge) == 0, what="the spool count back to 0")
    wait_until(
        lambda: bridge.own_metric("bridge_forwarded_total", downstream="loki") == len(accepted),
        what="bridge_forwarded_total",
    )
    assert bridge.own_metric("bridge_downstream_up", downstream="loki") == 1
    assert (bridge.own_metric("bridge_forward_duration_seconds_count", downstream="loki") or 0) >= 1


def test_pushgateway_is_pushed_to_by_the_child_not_the_bridge(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(pushgateway.url)
    child = the_child(bridge)
    register(bridge, "through-the-child")
    wait_until(lambda: pushed(pushgateway, "through-the-child"), what="the group in Pushgateway")
    assert connected_to(child, pushgateway.url)
    assert not connected_to(bridge.process.pid, pushgateway.url)
    assert (bridge.own_metric("bridge_forwarded_total", downstream="pushgateway") or 0) >= 1
    assert (bridge.own_metric("bridge_forward_duration_seconds_count", downstream="pushgateway") or 0) >= 1


def test_the_childs_failures_reach_ready_and_metrics_and_it_delivers_once_loki_is_back(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, loki: LokiReceiver
) -> None:
    loki.fail_with = 503
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url)
    accepted = send(bridge, 20)

    def loki_error() -> object:
        return ready(bridge)["downstreams"]["loki"]["last_error"]  # type: ignore[index]

    error = wait_until(loki_error, what="Loki's error in /ready")
    assert "503" in str(error), error
    assert bridge.own_metric("bridge_downstream_up", downstream="loki") == 0
    assert (bridge.own_metric("bridge_forward_errors_total", downstream="loki") or 0) >= 1
    assert spooled(bridge) == len(accepted)  # a retry waits in the outbox, still counted
    loki.fail_with = None
    wait_until(lambda: set(loki.event_ids()) >= set(accepted), timeout=30, what="delivered once Loki is back")
    wait_until(lambda: spooled(bridge) == 0, what="the spool count back to 0")
    assert bridge.own_metric("bridge_downstream_up", downstream="loki") == 1


def test_a_child_that_dies_is_replaced_and_every_accepted_event_is_delivered(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, loki: LokiReceiver
) -> None:
    loki.delay_seconds = 0.2  # the child is killed with pushes in flight
    bridge = bridge_factory(
        pushgateway.url, loki_url=loki.url, extra_env={"BRIDGE_LOKI_BATCH_MAX_ENTRIES": "10"}
    )
    first = the_child(bridge)
    accepted = send(bridge, 100)
    wait_until(loki.event_ids, what="a first push")
    os.kill(first, signal.SIGKILL)
    replaced = wait_until(
        lambda: [pid for pid in delivery_children(bridge.process.pid) if pid != first],
        timeout=30,
        what="another delivery process",
    )
    assert len(replaced) == 1
    loki.delay_seconds = 0.0
    accepted += send(bridge, 10)
    wait_until(lambda: set(loki.event_ids()) >= set(accepted), timeout=30, what="every event in Loki")
    register(bridge, "after-the-restart")  # Pushgateway's requests go through the new child
    wait_until(lambda: pushed(pushgateway, "after-the-restart"), timeout=30, what="pushed again")
    assert "the delivery process exited" in bridge.process.log()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_the_child_never_outlives_the_bridge(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, loki: LokiReceiver, stop: signal.Signals
) -> None:
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url)
    child = the_child(bridge)
    accepted = send(bridge, 10)
    wait_until(lambda: set(loki.event_ids()) >= set(accepted), what="delivered")
    os.kill(bridge.process.pid, stop)
    wait_until(lambda: not running(child), timeout=20, what="the delivery process gone with the bridge")


def test_with_the_process_off_logs_and_pushes_go_from_threads(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, loki: LokiReceiver
) -> None:
    bridge = bridge_factory(
        pushgateway.url, loki_url=loki.url, extra_env={"BRIDGE_DELIVERY_PROCESS": "false"}
    )
    accepted = send(bridge, 30)
    register(bridge, "from-a-thread")
    wait_until(lambda: set(loki.event_ids()) >= set(accepted), what="every event in Loki")
    wait_until(lambda: spooled(bridge) == 0, what="the spool count back to 0")
    wait_until(lambda: pushed(pushgateway, "from-a-thread"), what="the group in Pushgateway")
    assert delivery_children(bridge.process.pid) == []
    assert connected_to(bridge.process.pid, pushgateway.url)


def test_the_child_imports_no_web_stack_and_no_pydantic_models() -> None:
    """What keeps the child small (bench/README.md, eighth round): its modules and the pickled settings
    it reads bring in neither the bridge's HTTP client nor pydantic, FastAPI, the domain's models or a
    metrics registry (the bridge records what the child reports)."""
    probe = (
        "import pickle, sys\n"
        f"import {CHILD_MODULE}\n"
        "pickle.loads(sys.stdin.buffer.read())\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    settings = load_settings(None, loki_url="http://127.0.0.1:9", data_dir="/tmp/unused")
    loaded = (
        subprocess.run(
            [sys.executable, "-c", probe],
            input=pickle.dumps(DeliverySettings.of(settings)),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split()
    )
    heavy = {
        "httpx",
        "pydantic",
        "pydantic_settings",
        "fastapi",
        "starlette",
        "uvicorn",
        "yaml",
        "prometheus_client",
    }
    assert heavy.isdisjoint(loaded), heavy & set(loaded)
    assert not [name for name in loaded if name.startswith("pushgateway_bridge.domain.models")]
    assert "urllib3" in loaded  # what it pushes with: the probe saw the child's imports
