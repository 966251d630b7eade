"""The log API (`/api/logs*`) against a strict Loki query_range stand-in (tests/fakes/loki_query.py), which
evaluates the LogQL it gets, and against the events file when no loki_url is set."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.conftest import ADMIN_KEY, TEAM_KEY, Bridge, BridgeFactory, bridge_starter
from bridge.read_support import READER_A, get, reader_config
from fakes.loki_query import LokiQueryReceiver
from pushgateway_bridge.domain.events import Event, event
from pushgateway_bridge.sinks.events_file import EventsFileSink
from pushgateway_bridge.sinks.loki import entry
from stack import Stack, free_port, wait_until

NOWHERE = "http://127.0.0.1:9"  # Pushgateway is not what these tests are about
HOSTILE = 'a"b\\c`d |= "x" {e} \n'
# The LogQL label filter of reader-a's globs: a stream is named by `service`, a sidecar event's by `app`.
TEAM_A = 'service=~"team-a-.*" or app=~"team-a-.*"'


@pytest.fixture
def loki_query() -> Iterator[LokiQueryReceiver]:
    receiver = LokiQueryReceiver(tenant="tenant-1").start()
    try:
        yield receiver
    finally:
        receiver.stop()


def status(name: str, level: str, at: float, **fields: Any) -> Event:
    """A status event of service `name`."""
    return event(source="service", kind="status", name=name, now=at, fields=fields, level=level)


def add_event(loki: LokiQueryReceiver, name: str, level: str, at: float, **fields: Any) -> str:
    """An event of service `name` as the bridge's own Loki sink writes it."""
    made = status(name, level, at, **fields)
    labels, ts_ns, line, metadata = entry(made)
    loki.add(labels, int(ts_ns), line, metadata)
    return made["event_id"]


def named(name: str) -> str:
    """The label filter of `service=<name>`, in parentheses."""
    return f'(service="{name}" or app="{name}")'


def test_hostile_values_become_exact_logql_literals_that_loki_decodes_back(
    loki_query: LokiQueryReceiver, bridge_factory: BridgeFactory
) -> None:
    # Container logs (Alloy's) are plain text lines: the filter meets the hostile text as it is.
    now_ns = time.time_ns()
    labels = {"source": "docker", "service": HOSTILE, "level": "error"}
    loki_query.add(labels, now_ns - 5 * 10**9, f"before {HOSTILE} after")
    loki_query.add(labels, now_ns - 4 * 10**9, "other text")
    loki_query.add({**labels, "service": "plain"}, now_ns - 3 * 10**9, f"before {HOSTILE} after")
    bridge = bridge_factory(
        NOWHERE, loki_url=loki_query.url, config=reader_config(), extra_env={"BRIDGE_LOKI_TENANT": "tenant-1"}
    )
    response = get(bridge.url, "/api/logs/search", q=HOSTILE, service=HOSTILE, level="error")
    assert response.status_code == 200, response.text
    literal = '"a\\"b\\\\c`d |= \\"x\\" {e} \\n"'  # as `q` and as `service`
    query = f'{{level="error"}} |= {literal} | service={literal} or app={literal}'
    assert loki_query.last_query() == query
    assert response.json()["query"] == query
    assert [found["message"] for found in response.json()["entries"]] == [f"before {HOSTILE} after"]
    sent = loki_query.queries[-1]
    assert sent["headers"]["x-scope-orgid"] == "tenant-1"
    assert sent["headers"]["x-loki-response-encoding-flags"] == "categorize-labels"


def test_entries_carry_the_events_fields_and_structured_metadata_newest_first(
    loki_query: LokiQueryReceiver, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(
        NOWHERE, loki_url=loki_query.url, config=reader_config(), extra_env={"BRIDGE_LOKI_TENANT": "tenant-1"}
    )
    posted = requests.post(
        f"{bridge.url}/services/",
        json={"name": "team-a-api", "status": "down"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=5,
    )
    assert posted.status_code in (200, 201), posted.text
    wait_until(lambda: loki_query.entries, what="the bridge's event pushed to Loki")
    now = time.time()
    traced = add_event(loki_query, "team-a-api", "info", now + 1, message="traced", trace_id="ab" * 16)
    response = get(bridge.url, "/api/logs/service/team-a-api", end=str(now + 2))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["backend"] == "loki"
    first, second = body["entries"]
    assert first["event_id"] == traced
    assert (first["trace_id"], first["message"], first["service"]) == ("ab" * 16, "traced", "team-a-api")
    assert second["event_id"] == loki_query.entries[0]["metadata"]["event_id"]
    assert (second["level"], second["source"], second["kind"]) == ("error", "service", "status")
    assert second["fields"]["status"] == "down"
    assert second["trace_id"] is None
    assert first["time"] > second["time"]
    forward = get(bridge.url, "/api/logs", direction="forward", limit=1, end=str(now + 2)).json()
    assert [found["event_id"] for found in forward["entries"]] == [second["event_id"]]
    params = loki_query.queries[-1]["params"]
    assert (params["direction"], params["limit"]) == (["forward"], ["1"])


def test_a_key_reads_only_the_services_its_globs_match(
    loki_query: LokiQueryReceiver, bridge_factory: BridgeFactory
) -> None:
    now = time.time()
    mine = add_event(loki_query, "team-a-api", "info", now - 3, message="a")
    add_event(loki_query, "team-b-api", "info", now - 2, message="b")
    add_event(loki_query, "xteam-a-api", "info", now - 1, message="c")
    bridge = bridge_factory(
        NOWHERE, loki_url=loki_query.url, config=reader_config(), extra_env={"BRIDGE_LOKI_TENANT": "tenant-1"}
    )
    every = get(bridge.url, "/api/logs", READER_A)
    assert every.status_code == 200, every.text
    assert [found["event_id"] for found in every.json()["entries"]] == [mine]
    assert loki_query.last_query() == f'{{source=~".+"}} | {TEAM_A}'
    other = get(bridge.url, "/api/logs/service/team-b-api", READER_A)
    assert other.json()["entries"] == []
    assert loki_query.last_query() == f'{{source=~".+"}} | ({TEAM_A}) and {named("team-b-api")}'
    assert len(get(bridge.url, "/api/logs").json()["entries"]) == 3  # the admin key reads them all
    assert loki_query.last_query() == '{source=~".+"}'  # a stream selector only, no filter to run
    refused = get(bridge.url, "/api/logs", TEAM_KEY)
    assert refused.status_code == 403
    assert "read" in refused.json()["detail"]


def post_sidecar_events(url: str, *apps: str) -> list[str]:
    """A failed job of each app, through the sidecar API as an agent sends them; their event ids."""
    events = [
        {
            "site_id": "site1",
            "app": {"app_id": str(uuid.uuid4()), "name": app, "version": "1.0.0"},
            "entity_type": "job",
            "business_key": "nightly",
            "kind": "failed",
            "message": f"{app} failed",
        }
        for app in apps
    ]
    posted = requests.post(
        f"{url}/v1/events/batch",
        json={"events": events},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=5,
    )
    assert posted.status_code == 202, posted.text
    return list(posted.json()["event_ids"])


def test_a_key_reads_the_sidecar_events_of_the_apps_its_globs_match_and_no_others(
    loki_query: LokiQueryReceiver, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(
        NOWHERE, loki_url=loki_query.url, config=reader_config(), extra_env={"BRIDGE_LOKI_TENANT": "tenant-1"}
    )
    mine, other = post_sidecar_events(bridge.url, "team-a-worker", "team-b-worker")
    wait_until(lambda: len(loki_query.entries) == 2, what="the sidecar events pushed to Loki")
    assert {e["labels"].get("app") for e in loki_query.entries} == {"team-a-worker", "team-b-worker"}
    assert not any("service" in e["labels"] for e in loki_query.entries)  # what the sink writes

    def found(path: str, key: str = READER_A, **params: Any) -> list[str]:
        response = get(bridge.url, path, key, **params)
        assert response.status_code == 200, response.text
        assert response.json()["query"] == loki_query.last_query()
        return [item["event_id"] for item in response.json()["entries"]]

    assert found("/api/logs") == [mine]
    assert loki_query.last_query() == f'{{source=~".+"}} | {TEAM_A}'
    assert found("/api/logs/search", service="team-a-worker", level="error") == [mine]
    assert loki_query.last_query() == f'{{level="error"}} | ({TEAM_A}) and {named("team-a-worker")}'
    # `and` binds tighter than `or`: unparenthesised, `... or app="team-b-worker"` would let it through.
    assert found("/api/logs/service/team-b-worker") == []
    assert loki_query.last_query() == f'{{source=~".+"}} | ({TEAM_A}) and {named("team-b-worker")}'
    assert found("/api/logs/service/team-b-worker", ADMIN_KEY) == [other]
    assert loki_query.last_query() == '{source=~".+"} | service="team-b-worker" or app="team-b-worker"'
    entry_of = get(bridge.url, "/api/logs", READER_A).json()["entries"][0]
    assert (entry_of["service"], entry_of["source"], entry_of["message"]) == (
        "team-a-worker", "sidecar", "team-a-worker failed"
    )  # fmt: skip


@pytest.fixture(scope="module")
def refusing(
    module_stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Bridge, LokiQueryReceiver]]:
    """One bridge and Loki stand-in for the module's 422 cases (a bridge takes about 1.5 s to start): a
    refused request changes nothing there, and each case looks only at the queries made after it began."""
    receiver = LokiQueryReceiver(tenant="tenant-1").start()
    try:
        starter = bridge_starter(module_stack, tmp_path_factory.mktemp("refusing"))
        yield starter(NOWHERE, loki_url=receiver.url, config=reader_config()), receiver
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "5001"}, "limit"),
        ({"direction": "sideways"}, "direction"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2024-02-30T00:00:00Z"}, "end"),
        ({"start": "1700000100", "end": "1700000000"}, "end"),
        ({"start": "1600000000", "end": "1700000000"}, "start"),
        ({"level": ""}, "level"),
    ],
)
def test_bad_parameters_get_422_naming_them_before_loki_is_asked(
    refusing: tuple[Bridge, LokiQueryReceiver], params: dict[str, str], param: str
) -> None:
    bridge, loki = refusing
    asked = len(loki.queries)
    response = get(bridge.url, "/api/logs/search", **params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", param]
    assert loki.queries[asked:] == []


def test_loki_unreachable_or_failing_is_a_503_naming_loki_url(
    loki_query: LokiQueryReceiver, bridge_factory: BridgeFactory
) -> None:
    down = bridge_factory(NOWHERE, loki_url=f"http://127.0.0.1:{free_port()}", config=reader_config())
    response = get(down.url, "/api/logs")
    assert response.status_code == 503, response.text
    assert response.json()["detail"].startswith("loki_url: ")
    assert int(response.headers["Retry-After"]) >= 1
    failing = bridge_factory(NOWHERE, loki_url=loki_query.url, config=reader_config())
    loki_query.fail_with = 500
    response = get(failing.url, "/api/logs/level/error")
    assert response.status_code == 503, response.text
    assert "answered 500" in response.json()["detail"]


def write_events(path: Path, events: list[Event]) -> None:
    """As the bridge's events-file sink writes them, each batch rotating the file."""
    sink = EventsFileSink(path, max_bytes=1, backups=5)  # every write rotates: each event its own file
    for made in events:
        sink.send([dict(made)])


def test_without_loki_the_events_file_and_its_rotated_copies_answer_filtered_alike(
    bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    path = tmp_path / "events" / "events.jsonl"
    now = time.time()
    made = [
        status("team-a-api", "error", now - 40, message="disk full"),
        status("team-a-api", "info", now - 30, message="all well"),
        status("team-b-api", "error", now - 20, message="disk full"),
        status("team-a-db", "error", now - 10, message="disk full"),
    ]
    write_events(path, made)
    (path.parent / "events.jsonl.4").write_text('{"cut short\nnot json either\n')  # skipped, not a 500
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "events.jsonl", "events.jsonl.1", "events.jsonl.2", "events.jsonl.3", "events.jsonl.4"
    ]  # fmt: skip
    bridge = bridge_factory(NOWHERE, config=reader_config(), extra_env={"BRIDGE_EVENTS_FILE": str(path)})
    ids = [m["event_id"] for m in made]

    def found(key: str = ADMIN_KEY, **params: Any) -> list[str]:
        response = get(bridge.url, "/api/logs/search", key, end=str(now), **params)
        assert response.status_code == 200, response.text
        assert response.json()["backend"] == "events_file"
        return [item["event_id"] for item in response.json()["entries"]]

    assert found() == ids[::-1]
    assert found(q="disk full") == [ids[3], ids[2], ids[0]]
    assert found(q="disk full", direction="forward", limit=2) == [ids[0], ids[2]]
    assert found(service="team-a-api") == [ids[1], ids[0]]
    assert found(level="error", start=str(now - 35)) == [ids[3], ids[2]]
    assert found(READER_A, q="disk full") == [ids[3], ids[0]]
    assert found(READER_A, service="team-b-api") == []
    entry_of = get(bridge.url, "/api/logs/level/error", end=str(now), limit=1).json()["entries"][0]
    assert entry_of == {
        "time": entry_of["time"],
        "service": "team-a-db",
        "level": "error",
        "source": "service",
        "kind": "status",
        "message": "disk full",
        "trace_id": None,
        "event_id": ids[3],
        "fields": {"message": "disk full"},
        "labels": {"source": "service", "kind": "status", "service": "team-a-db", "level": "error"},
    }
    assert json.loads(json.dumps(entry_of))  # JSON all the way


def test_without_loki_a_key_reads_the_sidecar_events_of_its_apps_from_the_events_file(
    bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    bridge = bridge_factory(NOWHERE, config=reader_config(), extra_env={"BRIDGE_EVENTS_FILE": str(path)})
    mine, other = post_sidecar_events(bridge.url, "team-a-worker", "team-b-worker")

    def found(path: str, key: str = READER_A, **params: Any) -> list[str]:
        response = get(bridge.url, path, key, **params)
        assert response.status_code == 200, response.text
        assert response.json()["backend"] == "events_file"
        return [item["event_id"] for item in response.json()["entries"]]

    wait_until(lambda: len(found("/api/logs", ADMIN_KEY)) == 2, what="the sidecar events in the events file")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert {r["labels"].get("app") for r in records} == {"team-a-worker", "team-b-worker"}
    assert not any("service" in r["labels"] for r in records)
    assert found("/api/logs") == [mine]
    assert found("/api/logs/search", service="team-a-worker", level="error") == [mine]
    assert found("/api/logs/service/team-b-worker") == []
    assert found("/api/logs/service/team-b-worker", ADMIN_KEY) == [other]
    assert found("/api/logs/search", ADMIN_KEY, service="team-a-worker") == [mine]


def fake_query(loki: LokiQueryReceiver, query: str) -> requests.Response:
    return requests.get(
        f"{loki.url}/loki/api/v1/query_range",
        params={"query": query},
        headers={"X-Scope-OrgID": "tenant-1"},
        timeout=5,
    )


@pytest.mark.parametrize(
    ("label_filter", "services"),
    [
        ('service="a" or app="b" and level="error"', ["a", "a-error", "b-error"]),  # `and` binds tighter
        ('(service="a" or app="b") and level="error"', ["a-error", "b-error"]),
        ('service!="a" and app!~"b|c"', ["none"]),  # a label an entry lacks is the empty value
        ('((service=~"a|z"))', ["a", "a-error"]),
    ],
)
def test_the_loki_stand_in_evaluates_label_filter_expressions_as_loki_does(
    loki_query: LokiQueryReceiver, label_filter: str, services: list[str]
) -> None:
    now_ns = time.time_ns()
    for name, labels in {
        "a": {"service": "a"},
        "a-error": {"service": "a", "level": "error"},
        "b-error": {"app": "b", "level": "error"},
        "c": {"app": "c"},
        "none": {},
    }.items():
        loki_query.add({"source": "test", **labels}, now_ns - 10**9, name)
    response = fake_query(loki_query, f'{{source="test"}} | {label_filter}')
    assert response.status_code == 200, response.text
    found = [value[1] for stream in response.json()["data"]["result"] for value in stream["values"]]
    assert sorted(found) == services


@pytest.mark.parametrize(
    "query",
    [
        '{source="x"} | service="a", app="b"',  # Loki reads `,` and juxtaposition as `and`; the bridge
        '{source="x"} | service="a" app="b"',  # writes neither, so the stand-in refuses them
        '{source="x"} | (service="a" or app="b"',
        '{source="x"} | service="a")',
        '{source="x"} | service="a" or',
        '{source="x"} | service=1',
        '{source="x"} | json',
        '{source="x"} | service=~"("',
        '{service=~".*"} | service="a"',  # the selector still needs a matcher not matching ""
    ],
)
def test_the_loki_stand_in_refuses_the_label_filters_it_does_not_read_with_lokis_400(
    loki_query: LokiQueryReceiver, query: str
) -> None:
    response = fake_query(loki_query, query)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "text/plain"
