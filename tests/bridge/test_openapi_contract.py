"""The bridge's OpenAPI document is its contract: schemathesis checks every answer of the real bridge
against it, and methods a path does not answer get 405 with an `Allow` header listing the ones it does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.conftest import ADMIN_KEY, BridgeFactory, default_config
from fakes.tempo import TempoReceiver
from stack import Pushgateway, Stack

HERE = Path(__file__).resolve().parent
ST = str(Path(sys.executable).parent / "st")
# A fixed seed draws the same cases every run; every seed tried at 100 and 300 examples found nothing more
# than 40 did. With some 55 operations, 30 examples each; one worker, since Hypothesis' reprs are not
# thread-safe (two workers ended in "AST constructor recursion depth mismatch"). The budget leaves room for
# a loaded machine, under pytest-timeout's 300 s.
SEED = 1
MAX_EXAMPLES = 30
WORKERS = 1
TIMEOUT_SECONDS = 270


def notification_channels(tmp_path: Path) -> Path:
    """Every notification channel configured (tests/bridge/schemathesis_hooks.py addresses them), leading
    nowhere, like the relays."""
    secret = tmp_path / "secret"
    secret.write_text("not-a-real-secret\n")
    nowhere = "http://127.0.0.1:9"
    channels = {
        "email": {"host": "127.0.0.1", "port": 9, "security": "none", "from_address": "b@example.com"},
        "slack": {
            "webhook_url_files": {"ops": str(secret)},
            "bot_token_file": str(secret),
            "api_url": nowhere,
        },
        "teams": {"url_files": {"ops": str(secret)}},
        "sms": {
            "base_url": nowhere,
            "account_sid": "AC0",
            "auth_token_file": str(secret),
            "from_number": "+15550100",
        },
        "webhooks": {"ops": {"url": f"{nowhere}/hook", "secret_file": str(secret)}},
    }
    path = tmp_path / "notifications.yml"
    path.write_text(json.dumps({"channels": channels}))  # JSON is YAML
    return path


def contract_config(tmp_path: Path) -> dict[str, Any]:
    """The test keys, a Teams and an SMS target named `ops` (tests/bridge/schemathesis.toml sends the
    relays there), and every notification channel. Their URLs lead nowhere: deliveries are retried in the
    background, which is not what this test is about."""
    return {
        **default_config(),
        "notifications_file": str(notification_channels(tmp_path)),
        "notify": {
            "teams": {"ops": {"url": {"value": "http://127.0.0.1:9/teams"}}},
            "sms": {
                "ops": {
                    "base_url": "http://127.0.0.1:9",
                    "account_sid": "AC0",
                    "auth_token": {"value": "token"},
                    "from_number": "+15550100",
                    "to": ["+15550199"],
                }
            },
        },
    }


@pytest.mark.slow
def test_schemathesis_finds_no_answer_outside_the_document(
    pushgateway: Pushgateway,
    bridge_factory: BridgeFactory,
    stack: Stack,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Every check of schemathesis on every operation: tests/bridge/schemathesis.toml turns them all on,
    and says why two operations go without one each (`--checks all` here would override that). A real
    Prometheus loads the API alerts' rule file: without one the alert API answers 503, a server error."""
    rule_file = tmp_path / "api.rules.yml"
    prometheus = stack.prometheus(rule_files=[rule_file])
    tempo = TempoReceiver().start()
    request.addfinalizer(tempo.stop)
    bridge = bridge_factory(
        pushgateway.url,
        config=contract_config(tmp_path),
        extra_env={
            "BRIDGE_PROMETHEUS_URL": prometheus.url,
            "BRIDGE_ALERT_RULES_FILE": str(rule_file),
            "BRIDGE_TEMPO_URL": tempo.url,  # without Tempo the trace API answers 503, a server error
        },
    )
    workdir = tmp_path / "schemathesis"  # st writes .schemathesis/ into its working directory
    workdir.mkdir()
    command = [
        ST,
        "--no-color",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{bridge.url}/openapi.json",
        "--header",
        f"x-api-key: {ADMIN_KEY}",  # rate_per_second 10000: no 429 in the way of the checks
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        str(WORKERS),
        "--report",
        "json",
        "--report-json-path",
        str(workdir / "report.json"),
    ]
    result = subprocess.run(
        command,
        cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py")},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    output = f"$ {' '.join(command)}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    report = json.loads((workdir / "report.json").read_text())
    assert (report["failures"], report["errors"]) == ([], []), output
    document = requests.get(f"{bridge.url}/openapi.json", timeout=5).json()
    count = sum(len(item) for item in document["paths"].values())  # a path item holds only its methods
    assert report["operations"] == {
        "total": count,
        "selected": count,
        "tested": count,
        "errored": 0,
        "skipped": 0,
        "skip_reasons": [],
    }, output
    phases = [report["phases"][phase]["status"] for phase in ("coverage", "fuzzing", "stateful")]
    assert phases == ["success", "success", "success"], output


UNDECLARED = [
    ("OPTIONS", "/api/v1/schedulers/eod", "DELETE, GET"),
    ("PATCH", "/api/v1/schedulers/eod", "DELETE, GET"),
    ("DELETE", "/api/v1/schedulers", "GET"),
    ("GET", "/api/v1/schedulers/eod/status", "PUT"),
    ("PUT", "/health", "GET"),
    # The climate API's POST /metrics/ and the bridge's own GET /metrics share both spellings.
    ("PUT", "/metrics", "GET, POST"),
    ("DELETE", "/metrics/", "GET, POST"),
]


def test_an_undeclared_method_gets_405_listing_every_method_of_the_path(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(pushgateway.url)
    for method, path, allow in UNDECLARED:
        response = requests.request(method, bridge.url + path, headers=bridge.headers(), timeout=5)
        assert response.status_code == 405, (method, path, response.text)
        assert response.headers["Allow"] == allow, (method, path)
        assert response.json()["detail"] == f"method {method} not allowed; this path answers {allow}"


def test_the_document_lists_every_answer_and_both_ways_to_send_a_key(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(pushgateway.url)
    document = requests.get(f"{bridge.url}/openapi.json", timeout=5).json()
    paths = document["paths"]
    assert sorted(paths["/api/v1/schedulers/{scheduler_id}/status"]["put"]["responses"]) == [
        "200", "400", "401", "403", "404", "413", "415", "422", "429", "503"
    ]  # fmt: skip
    register = paths["/api/v1/schedulers/register"]["post"]["responses"]
    assert sorted(register) == ["200", "201", "400", "401", "403", "413", "415", "422", "429", "503"]
    assert register["429"]["headers"]["Retry-After"]["required"] is True
    assert paths["/health"]["get"]["responses"].keys() == {"200"}
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert paths["/notify/sms/{target}"]["post"]["security"] == [{"apiKey": []}, {"bearer": []}]
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "An API key of the bridge, as the scheduler seed sends it",
    }
    assert schemes["bearer"]["scheme"] == "bearer"
    schemas = document["components"]["schemas"]
    assert schemas["SidecarBatch"]["properties"]["events"]["maxItems"] == 1000  # max_batch_events
    assert schemas["SidecarEvent"]["properties"]["memory_bytes"]["anyOf"][0] == {
        "type": "integer",
        "minimum": 0,
    }
