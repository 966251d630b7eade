"""integrations.json: the seed's example refused for its enabled CloudWatch entry (one line, exit 2), started
with that entry disabled; each bad entry named in one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from bridge.conftest import BRIDGE_BIN, BridgeFactory, default_config
from pushgateway_bridge.configfile import ConfigError
from pushgateway_bridge.integrations.config import parse_integrations

SEED_EXAMPLE = Path(__file__).parent / "fixtures" / "seed_integrations.json"  # the seed's README, verbatim


def start_refused(
    tmp_path: Path, integrations: Path, *, by_env: bool = False
) -> subprocess.CompletedProcess[str]:
    """Start the bridge naming `integrations` in its config file (or in BRIDGE_INTEGRATIONS_FILE)."""
    config = tmp_path / "bridge.yml"
    named = {} if by_env else {"integrations_file": str(integrations)}
    config.write_text(yaml.safe_dump({**default_config(), **named}))
    env = {"PATH": "/usr/bin:/bin", "BRIDGE_DATA_DIR": str(tmp_path / "data")}
    if by_env:
        env["BRIDGE_INTEGRATIONS_FILE"] = str(integrations)
    return subprocess.run(
        [BRIDGE_BIN, "--web.listen-address=127.0.0.1:0", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )


@pytest.mark.parametrize("by_env", [False, True], ids=["config file", "BRIDGE_INTEGRATIONS_FILE"])
def test_seed_example_with_cloudwatch_enabled_is_refused_in_one_line(tmp_path: Path, by_env: bool) -> None:
    result = start_refused(tmp_path, SEED_EXAMPLE, by_env=by_env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == (
        f"pushgateway-bridge: bad config: integrations_file: {SEED_EXAMPLE}: entry 'cloudwatch' (type "
        "aws_cloudwatch) is not supported: use an `otlp` entry and the OpenTelemetry Collector's "
        "`awscloudwatchlogs` exporter (X-Ray: its `awsxray` exporter, fed by the SDK's traces), or set "
        '"enabled": false (docs/integrations.md)'
    )


def test_seed_example_with_cloudwatch_disabled_starts(tmp_path: Path, bridge_factory: BridgeFactory) -> None:
    entries = json.loads(SEED_EXAMPLE.read_text())
    assert [entry["type"] for entry in entries] == ["local_api", "aws_cloudwatch"]
    entries[1]["enabled"] = False
    path = tmp_path / "integrations.json"
    path.write_text(json.dumps(entries))
    bridge = bridge_factory("http://127.0.0.1:9", config={**default_config(), "integrations_file": str(path)})
    ready = requests.get(f"{bridge.url}/ready", timeout=5).json()
    primary = ready["downstreams"]["integration:primary"]
    assert primary["type"] == "local_api"
    assert primary["target"] == "http://local-api:18000"
    assert primary["pending"] == 0
    assert "integration:cloudwatch" not in ready["downstreams"]


@pytest.mark.parametrize("kind", ["aws_cloudwatch", "zabbix", "elk"])
def test_each_refused_type_names_its_replacement(kind: str) -> None:
    entry = {"type": kind, "name": "old", "enabled": True, "config": {}}
    with pytest.raises(ConfigError) as refused:
        parse_integrations([entry], "integrations.json")
    replacement = {"aws_cloudwatch": "`awscloudwatchlogs`", "zabbix": "Zabbix 8.0", "elk": "`elasticsearch`"}
    assert f"entry 'old' (type {kind}) is not supported: use an `otlp` entry" in refused.value.reason
    assert replacement[kind] in refused.value.reason
    assert parse_integrations([{**entry, "enabled": False}], "integrations.json") == []


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"type": "webhook"}, "integrations.json: Input should be a valid list"),
        ([{"type": "kafka", "name": "k", "config": {}}], "integrations.json: 0.type: Input should be"),
        ([{"type": "csv", "name": "bad name", "config": {}}], "0.name: String should match pattern"),
        (
            [{"type": "csv", "name": "a", "config": {"path": "a.csv"}}] * 2,
            "integrations.json: two entries named 'a'",
        ),
        ([{"type": "csv", "name": "a", "config": {}}], "[0] a.config.path: Field required"),
        (
            [{"type": "otlp", "name": "o", "config": {"endpoint": "collector:4318"}}],
            "[0] o.config.endpoint: String should match pattern",
        ),
        (
            [{"type": "webhook", "name": "w", "config": {"url": "http://h/x", "secret": {"env": "UNSET_X"}}}],
            "w.config.secret: env UNSET_X is not set",
        ),
        (
            [{"type": "local_api", "name": "l", "config": {"base_url": "http://h", "key": "k"}}],
            "[0] l.config.key: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_entries_are_named(entries: Any, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_integrations(entries, "integrations.json")
    assert refused.value.key == "integrations_file"
    assert message in refused.value.reason


def test_a_disabled_entry_is_not_checked_and_enabled_defaults_to_true(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    entries = [
        {"type": "webhook", "name": "off", "enabled": False, "config": {"url": "not a url"}},
        {"type": "webhook", "name": "on", "config": {"url": "http://h/x", "secret": {"file": str(secret)}}},
    ]
    [enabled] = parse_integrations(entries, "integrations.json")
    assert (enabled.name, enabled.type, enabled.downstream) == ("on", "webhook", "integration:on")


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("\n")
    entry = {"type": "webhook", "name": "w", "config": {"url": "http://h/x", "secret": {"file": str(secret)}}}
    with pytest.raises(ConfigError, match=r"w\.config\.secret: is empty"):
        parse_integrations([entry], "integrations.json")


def test_a_file_that_is_not_json_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "integrations.json"
    path.write_text("[{")
    result = start_refused(tmp_path, path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"integrations_file: {path} is not valid JSON" in result.stderr
