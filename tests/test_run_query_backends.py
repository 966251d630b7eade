"""`make run` hands the bridge a Loki and a Tempo only when the caller names them (none runs here)."""

from __future__ import annotations

from scripts.bundle_run.configs import query_backends


def test_the_bridge_gets_loki_and_tempo_from_bundle_loki_url_and_bundle_tempo_url() -> None:
    assert query_backends({}) == {}
    assert query_backends({"BUNDLE_TEMPO_URL": "", "BRIDGE_TEMPO_URL": "http://ignored:3200"}) == {}
    given = {"BUNDLE_LOKI_URL": "http://loki:3100", "BUNDLE_TEMPO_URL": "http://tempo:3200", "LOKI_URL": "x"}
    assert query_backends(given) == {
        "BRIDGE_LOKI_URL": "http://loki:3100",
        "BRIDGE_TEMPO_URL": "http://tempo:3200",
    }
