"""Two real bridges on one real PostgreSQL, as behind a load balancer: steady load through both, one killed.

Every acknowledged request must be in Pushgateway and in Loki once, the run counters must equal the runs
sent (each run counted once whichever bridge took it, also when a client resent it to the other bridge
after the first died without answering), and a notification posted to one bridge reaches a socket on the
other."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
import requests
from websockets.sync.client import connect

from bridge.conftest import ADMIN_KEY, Bridge, BridgeFactory, default_config
from bridge.notification_receivers import notify
from bridge.test_durability import has_value, runs_series, sidecar_event
from fakes.loki import LokiReceiver
from stack import Pushgateway, Stack, wait_until
from stack.postgres import PostgresServer, start_postgres

HEADERS = {"x-api-key": ADMIN_KEY}
MS = timedelta(milliseconds=1)
SCHEDULERS = 3  # one thread each
SIDECAR_THREADS = 3  # all on the same few jobs: concurrent writes of one entity through both bridges


@pytest.fixture
def pushgateway(stack: Stack) -> Pushgateway:
    return stack.pushgateway()


class Unanswering:
    """A Loki that reads requests and never answers: a bridge sending to it holds its batch meanwhile."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.requests = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:  # closed
                return
            self.held.append(connection)
            if connection.recv(65536):
                self.requests.set()

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def unanswering() -> Iterator[Unanswering]:
    receiver = Unanswering()
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture
def bridges(
    pushgateway: Pushgateway,
    loki: LokiReceiver,
    unanswering: Unanswering,
    bridge_factory: BridgeFactory,
    postgres_url: str,
) -> list[Bridge]:
    """The first bridge's Loki never answers (its deliveries hang for request_timeout_seconds, 30 here):
    when it is killed it holds a batch of items, which the second must deliver once their lease ends."""
    env = {"BRIDGE_STORAGE_URL": postgres_url, "BRIDGE_OUTBOX_LEASE_SECONDS": "3"}
    hanging = {**default_config(), "request_timeout_seconds": 30}
    return [
        bridge_factory(pushgateway.url, loki_url=unanswering.url, config=hanging, extra_env=env),
        bridge_factory(pushgateway.url, loki_url=loki.url, extra_env=env),
    ]


class Client:
    """One load thread: each request goes to the next bridge in turn; when one does not answer, the same
    request is sent to the other (as a load balancer's retry, or the SDK's resend, would)."""

    def __init__(self, urls: list[str], send: Callable[[requests.Session, str, int], bool]) -> None:
        self.urls = urls
        self.send = send  # (session, bridge url, request number) -> acknowledged
        self.acked: list[int] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        session = requests.Session()
        turn = itertools.cycle(range(len(self.urls)))
        for n in itertools.count():
            if self.stopping.is_set():
                return
            first = next(turn)
            for attempt in range(20):  # the same request, to each bridge in turn, until one takes it
                url = self.urls[(first + attempt) % len(self.urls)]
                try:
                    if self.send(session, url, n):
                        self.acked.append(n)
                        break
                except requests.RequestException:
                    session = requests.Session()  # the dead bridge's connection
                time.sleep(0.05)
            time.sleep(0.002)


def sidecar_sender(thread: int) -> tuple[Callable[[requests.Session, str, int], bool], dict[int, Any]]:
    bodies: dict[int, Any] = {}

    def send(session: requests.Session, url: str, n: int) -> bool:
        body = bodies.setdefault(n, sidecar_event(f"job-{(n + thread) % 4}", "finished"))
        answer = session.post(f"{url}/v1/event", json=body, headers=HEADERS, timeout=2)
        return answer.status_code == 202

    return send, bodies


def scheduler_sender(scheduler_id: str, start: datetime) -> Callable[[requests.Session, str, int], bool]:

    def send(session: requests.Session, url: str, n: int) -> bool:
        # A timestamp a request: the same request sent again is a resend the bridges recognise.
        at = (start + n * MS).isoformat()
        body = {"status": "completed", "timestamp": at, "execution_time_ms": 5}
        answer = session.put(
            f"{url}/api/v1/schedulers/{scheduler_id}/status", json=body, headers=HEADERS, timeout=2
        )
        return answer.status_code == 200

    return send


def pushed(pushgateway: Pushgateway, name: str, **labels: str) -> float | None:
    for line in requests.get(f"{pushgateway.url}/metrics", timeout=5).text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] == name and all(f'{k}="{v}"' in series for k, v in labels.items()):
            return float(value)
    return None


def has_runs(pushgateway: Pushgateway, scheduler_id: str, runs: int) -> bool:
    return pushed(pushgateway, "scheduler_runs_total", scheduler_id=scheduler_id, outcome="success") == runs


def test_two_bridges_under_load_one_killed_lose_and_double_nothing(
    bridges: list[Bridge], pushgateway: Pushgateway, loki: LokiReceiver, unanswering: Unanswering
) -> None:
    first, second = bridges
    for i in range(SCHEDULERS):
        registration = {"scheduler_id": f"sched-{i}", "service_name": "svc", "job_name": f"job{i}"}
        answer = requests.post(
            f"{bridges[i % 2].url}/api/v1/schedulers/register", json=registration, headers=HEADERS, timeout=5
        )
        assert answer.status_code == 201, answer.text
    urls = [bridge.url for bridge in bridges]
    sidecars = [sidecar_sender(thread) for thread in range(SIDECAR_THREADS)]
    clients = [Client(urls, send) for send, _ in sidecars]
    start = datetime.now(UTC)
    clients += [Client(urls, scheduler_sender(f"sched-{i}", start)) for i in range(SCHEDULERS)]
    for client in clients:
        client.thread.start()

    def acked() -> int:
        return sum(len(client.acked) for client in clients)

    wait_until(lambda: acked() >= 300, timeout=60, what="300 acknowledged requests through both bridges")
    wait_until(unanswering.requests.is_set, timeout=30, what="the first bridge holding a batch for Loki")
    first.process.kill()  # SIGKILL while requests are in flight
    killed_at = acked()
    wait_until(lambda: acked() >= killed_at + 150, timeout=60, what="150 more, all through the second")
    for client in clients:
        client.stopping.set()
    for client in clients:
        client.thread.join(timeout=30)

    # Every acknowledged run in Pushgateway, once: the counters are the runs acknowledged.
    runs: Counter[str] = Counter()
    event_ids = set()
    for client, (_, bodies) in zip(clients, sidecars, strict=False):
        for n in client.acked:
            runs[bodies[n]["business_key"]] += 1
            event_ids.add(bodies[n]["event_id"])
    for key, count in runs.items():
        wait_until(
            partial(has_value, pushgateway.url, runs_series(key), count),
            timeout=30,
            what=f"{key} runs_total == {count} in Pushgateway",
        )
    for i, client in enumerate(clients[SIDECAR_THREADS:]):
        sched, count = f"sched-{i}", len(client.acked)
        wait_until(
            partial(has_runs, pushgateway, sched, count),
            timeout=30,
            what=f"{sched} runs_total == {count} in Pushgateway",
        )
        stored = requests.get(f"{second.url}/api/v1/schedulers/{sched}", headers=HEADERS, timeout=5).json()
        assert stored["runs"]["success"] == count

    # Every acknowledged event in Loki, none twice (the killed bridge's items went out after its lease).
    wait_until(
        lambda: event_ids <= set(loki.event_ids()), timeout=30, what="every acknowledged event in Loki"
    )

    def statuses_logged() -> Counter[tuple[str, int]]:
        return Counter(
            (line["scheduler_id"], round((datetime.fromisoformat(line["timestamp"]) - start) / MS))
            for line in map(json.loads, (entry["line"] for entry in loki.entries))
            if line["source"] == "scheduler" and line["kind"] == "status"
        )

    sent = Counter(
        (f"sched-{i}", n) for i, client in enumerate(clients[SIDECAR_THREADS:]) for n in client.acked
    )
    # The status lines may come in a later delivery step than the last sidecar event: waited for too.
    wait_until(lambda: not sent - statuses_logged(), timeout=30, what="every acknowledged status in Loki")
    assert loki.duplicates() == {}
    logged = statuses_logged()
    assert logged == sent  # each acknowledged status once, and nothing else
    # The registrations too (the first bridge's first batch was theirs), and nothing unacknowledged.
    wait_until(
        lambda: len(loki.entries) == SCHEDULERS + len(event_ids) + len(logged),
        timeout=30,
        what="the registrations in Loki",
    )
    assert loki.rejections == []


def test_a_notification_posted_to_one_bridge_reaches_a_socket_on_the_other(bridges: list[Bridge]) -> None:
    first, second = bridges
    url = second.url.replace("http://", "ws://") + "/api/notifications/ws/user-42"
    with connect(url, additional_headers=HEADERS, open_timeout=10) as elsewhere:
        local_url = first.url.replace("http://", "ws://") + "/api/notifications/ws/user-42"
        with connect(local_url, additional_headers=HEADERS, open_timeout=10) as here:
            sent = [
                notify(
                    first, user_id="user-42", type="info", channel="realtime", subject=f"s{i}", message="m"
                )
                for i in range(2)
            ]
            ids = [body["id"] for body in sent]
            assert [json.loads(elsewhere.recv(timeout=10))["id"] for _ in ids] == ids
            # The bridge it was posted to publishes it itself, once: the listener skips its own records.
            assert [json.loads(here.recv(timeout=10))["id"] for _ in ids] == ids
            last = notify(
                second, user_id="user-42", type="info", channel="realtime", subject="x", message="m"
            )
            assert json.loads(here.recv(timeout=10))["id"] == last["id"]


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of the test's own, to stop and start again."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


def test_postgresql_away_answers_503_and_back_again_loses_nothing_acknowledged(
    own_postgres: PostgresServer,
    pushgateway: Pushgateway,
    loki: LokiReceiver,
    bridge_factory: BridgeFactory,
) -> None:
    env = {"BRIDGE_STORAGE_URL": own_postgres.new_database()}
    bridge = bridge_factory(pushgateway.url, loki_url=loki.url, extra_env=env)
    acked: list[dict[str, Any]] = []

    def post() -> requests.Response:
        body = sidecar_event("job-0", "finished")
        answer = requests.post(f"{bridge.url}/v1/event", json=body, headers=HEADERS, timeout=10)
        if answer.status_code == 202:
            acked.append(body)
        return answer

    assert post().status_code == 202
    own_postgres.halt()
    away = post()
    assert away.status_code == 503, away.text
    assert away.headers["Retry-After"] == "1"
    assert away.json()["detail"].startswith("storage unavailable, retry later: PostgreSQL: ")
    status = requests.put(
        f"{bridge.url}/api/v1/schedulers/any/status", json={"status": "running"}, headers=HEADERS, timeout=10
    )
    assert status.status_code == 503, status.text

    own_postgres.start()
    wait_until(lambda: post().status_code == 202, timeout=30, what="the bridge connected again")
    assert post().status_code == 202
    wait_until(
        partial(has_value, pushgateway.url, runs_series("job-0"), len(acked)),
        timeout=30,
        what=f"runs_total == {len(acked)} in Pushgateway",
    )
    ids = {body["event_id"] for body in acked}
    wait_until(lambda: ids <= set(loki.event_ids()), timeout=30, what="every acknowledged event in Loki")
    assert loki.duplicates() == {}
    assert "Traceback" not in bridge.process.log()
