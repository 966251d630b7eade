"""The trace API (`/api/traces*`) against a strict stand-in for Tempo's search and trace-by-id APIs
(tests/fakes/tempo.py), which evaluates the TraceQL it gets."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bridge.conftest import TEAM_KEY, Bridge, BridgeFactory, bridge_starter
from bridge.read_support import READER_A, get, reader_config
from fakes.tempo import Span, TempoReceiver
from stack import Stack, free_port

NOWHERE = "http://127.0.0.1:9"
TRACE = "00000000000000000123456789abcdef"  # leading zeros: Tempo's search writes it without them
MIXED = "fedcba9876543210fedcba9876543210"
OTHERS = "11111111111111111111111111111111"


@pytest.fixture
def tempo() -> Iterator[TempoReceiver]:
    receiver = TempoReceiver().start()
    now = time.time_ns()
    ms = 10**6
    receiver.add(
        TRACE,
        [
            Span("team-a-api", "00000000000000a1", "GET /forecast", now - 900 * ms, now - 600 * ms),
            Span("team-a-db", "00000000000000a2", "SELECT", now - 850 * ms, now - 700 * ms, "00000000000000a1", "SPAN_KIND_CLIENT"),
            Span("team-a-db", "00000000000000a3", "COMMIT", now - 690 * ms, now - 650 * ms, "00000000000000a1",
                 status="STATUS_CODE_ERROR", attributes={"db.rows": 3, "db.system": "sqlite"}),
        ],
    )  # fmt: skip
    receiver.add(
        MIXED,
        [
            Span("team-b-gateway", "00000000000000b1", "GET /", now - 500 * ms, now - 100 * ms),
            Span(
                "team-a-api", "00000000000000b2", "render", now - 400 * ms, now - 200 * ms, "00000000000000b1"
            ),
            Span(
                "team-a-api", "00000000000000b3", "cache", now - 390 * ms, now - 380 * ms, "00000000000000b2"
            ),
        ],
    )
    receiver.add(OTHERS, [Span("xteam-a-api", "00000000000000c1", "GET /x", now - 300 * ms, now - 290 * ms)])
    try:
        yield receiver
    finally:
        receiver.stop()


def test_search_sends_traceql_with_hostile_values_escaped_and_answers_padded_ids(
    tempo: TempoReceiver, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(NOWHERE, config=reader_config(), extra_env={"BRIDGE_TEMPO_URL": tempo.url})
    hostile = 'a"b\\c`d && x } {'
    response = get(bridge.url, "/api/traces", service=hostile, min_duration="250ms", limit=5, start="1700000000",
                   end="1700003600.5")  # fmt: skip
    assert response.status_code == 200, response.text
    sent = tempo.searches()[-1]
    assert sent == {
        "q": '{ resource.service.name =~ "^(?:.*)$" && resource.service.name = "a\\"b\\\\c`d && x } {"'
        " && traceDuration >= 250ms }",
        "start": "1700000000",
        "end": "1700003601",
        "limit": "5",
    }
    assert response.json()["traces"] == []
    every = get(bridge.url, "/api/traces").json()["traces"]
    assert [found["trace_id"] for found in every] == [OTHERS, MIXED, TRACE]  # newest first
    first = get(bridge.url, "/api/traces/service/team-a-db").json()["traces"]
    assert first == [
        {
            "trace_id": TRACE,
            "root_service": "team-a-api",
            "root_name": "GET /forecast",
            "start": first[0]["start"],
            "duration_ms": 300,
            "services": ["team-a-api", "team-a-db"],
        }
    ]
    slow = get(bridge.url, "/api/traces", min_duration="350ms").json()["traces"]
    assert [found["trace_id"] for found in slow] == [MIXED]


def test_a_key_finds_only_traces_of_its_services_and_sees_only_their_spans(
    tempo: TempoReceiver, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(NOWHERE, config=reader_config(), extra_env={"BRIDGE_TEMPO_URL": tempo.url})
    found = get(bridge.url, "/api/traces", READER_A)
    assert found.status_code == 200, found.text
    # Tempo's =~ matched anywhere before 2.6: the anchors keep xteam-a-api out.
    assert tempo.searches()[-1]["q"] == '{ resource.service.name =~ "^(?:team-a-.*)$" }'
    traces = {item["trace_id"]: item for item in found.json()["traces"]}
    assert sorted(traces) == sorted([TRACE, MIXED])
    assert traces[MIXED]["root_service"] is None  # team-b-gateway is not named to this key
    assert traces[MIXED]["services"] == ["team-a-api"]
    mixed = get(bridge.url, f"/api/traces/{MIXED}", READER_A).json()
    assert mixed["services"] == ["team-a-api"]
    (root,) = mixed["roots"]  # the team-b parent is left out: its child is a root
    assert (root["span_id"], root["parent_span_id"], [c["span_id"] for c in root["children"]]) == (
        "00000000000000b2", "00000000000000b1", ["00000000000000b3"]
    )  # fmt: skip
    assert len(get(bridge.url, f"/api/traces/{MIXED}").json()["roots"][0]["children"]) == 1  # admin: b1 > b2
    hidden = get(bridge.url, f"/api/traces/{OTHERS}", READER_A)
    assert hidden.status_code == 404
    assert get(bridge.url, f"/api/traces/{OTHERS}").status_code == 200
    assert get(bridge.url, "/api/traces", TEAM_KEY).status_code == 403
    assert get(bridge.url, f"/api/traces/{TRACE}", TEAM_KEY).status_code == 403


def test_one_trace_is_a_tree_of_spans_by_parent(tempo: TempoReceiver, bridge_factory: BridgeFactory) -> None:
    bridge = bridge_factory(NOWHERE, config=reader_config(), extra_env={"BRIDGE_TEMPO_URL": tempo.url})
    response = get(bridge.url, f"/api/traces/{TRACE.upper()}")
    assert response.status_code == 200, response.text
    assert tempo.requests[-1]["path"] == f"/api/traces/{TRACE}"
    assert tempo.requests[-1]["headers"]["accept"] == "application/json"
    trace = response.json()
    assert (trace["trace_id"], trace["span_count"], trace["duration_ms"]) == (TRACE, 3, 300.0)
    (root,) = trace["roots"]
    assert (root["name"], root["service"], root["kind"], root["parent_span_id"]) == (
        "GET /forecast", "team-a-api", "server", None
    )  # fmt: skip
    select, commit = root["children"]
    assert (select["name"], select["kind"], select["duration_ms"]) == ("SELECT", "client", 150.0)
    assert (commit["status"], commit["attributes"]) == ("error", {"db.rows": 3, "db.system": "sqlite"})
    assert commit["children"] == []


@pytest.fixture(scope="module")
def refusing(
    module_stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Bridge, TempoReceiver]]:
    """One bridge and Tempo stand-in for the module's 422 cases (a bridge takes about 1.5 s to start): a
    refused request changes nothing there, and each case looks only at the requests made after it began."""
    receiver = TempoReceiver().start()
    try:
        starter = bridge_starter(module_stack, tmp_path_factory.mktemp("refusing"))
        yield starter(NOWHERE, config=reader_config(), extra_env={"BRIDGE_TEMPO_URL": receiver.url}), receiver
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        (f"/api/traces/{TRACE[:-1]}", {}, ["path", "trace_id"]),
        (f"/api/traces/{TRACE[:-1]}g", {}, ["path", "trace_id"]),
        ("/api/traces", {"min_duration": "5 minutes"}, ["query", "min_duration"]),
        ("/api/traces", {"limit": "0"}, ["query", "limit"]),
        ("/api/traces", {"start": "1700000000", "end": "1700900000"}, ["query", "start"]),
        ("/api/traces/service/x", {"end": "tomorrow"}, ["query", "end"]),
    ],
)
def test_bad_parameters_get_422_naming_them_before_tempo_is_asked(
    refusing: tuple[Bridge, TempoReceiver], path: str, params: dict[str, str], loc: list[str]
) -> None:
    bridge, tempo = refusing
    asked = len(tempo.requests)
    response = get(bridge.url, path, **params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
    assert tempo.requests[asked:] == []


def test_unknown_trace_is_404_and_tempo_away_is_503_naming_tempo_url(
    tempo: TempoReceiver, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(NOWHERE, config=reader_config(), extra_env={"BRIDGE_TEMPO_URL": tempo.url})
    missing = get(bridge.url, "/api/traces/" + "ab" * 16)
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"no trace '{'ab' * 16}'"
    tempo.fail_with = 500
    failing = get(bridge.url, "/api/traces")
    assert failing.status_code == 503
    assert failing.json()["detail"].startswith("tempo_url: ")
    unset = bridge_factory(NOWHERE, config=reader_config())
    for path in ("/api/traces", f"/api/traces/{TRACE}", "/api/traces/service/x"):
        response = get(unset.url, path)
        assert response.status_code == 503, path
        assert response.json()["detail"] == "tempo_url is not set: the bridge reads traces from Tempo"
        assert response.headers["Retry-After"] == "10"
    away = bridge_factory(
        NOWHERE, config=reader_config(), extra_env={"BRIDGE_TEMPO_URL": f"http://127.0.0.1:{free_port()}"}
    )
    response = get(away.url, f"/api/traces/{TRACE}")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("tempo_url: Tempo at http://127.0.0.1:")
