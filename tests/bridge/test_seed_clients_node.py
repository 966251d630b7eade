"""The seeds' Node.js and TypeScript clients, as written, against the real bridge: the scheduler guide's
complete EOD example (TypeScript, axios) and the climate guide's Node.js client (axios). The only change a
user makes is the base URL (and, for the EOD example, the API key it reads from MONITORING_API_KEY).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bridge.conftest import ADMIN_KEY, BridgeFactory
from stack import Pushgateway, Stack, in_ci

NODE_CLIENTS = Path(__file__).resolve().parents[1] / "seed_clients" / "node"
SEED_URL = "https://monitoring.example.com/api/v1"


def node_tool(name: str) -> str:
    path = NODE_CLIENTS / "node_modules" / ".bin" / name
    if shutil.which("node") and path.exists():
        return str(path)
    message = f"node and {name} are needed (make setup installs them: npm ci in {NODE_CLIENTS})"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def test_typescript_eod_example_runs_as_written(
    stack: Stack, pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    tsx = node_tool("tsx")
    bridge = bridge_factory(pushgateway.url)
    prometheus = stack.prometheus(targets=[pushgateway.url.split("://")[1]])
    source = (NODE_CLIENTS / "scheduler_eod.ts").read_text()
    assert source.count(SEED_URL) == 1
    # Beside package.json, so `import axios` resolves to the pinned copy.
    script = NODE_CLIENTS / f".eod-{tmp_path.name}.ts"
    script.write_text(source.replace(SEED_URL, f"{bridge.url}/api/v1"))
    try:
        run = subprocess.run(
            [tsx, str(script)],
            cwd=NODE_CLIENTS,
            env={"PATH": "/usr/bin:/bin", "MONITORING_API_KEY": ADMIN_KEY},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        script.unlink()
    assert run.returncode == 0, run.stderr
    assert "EOD process completed successfully" in run.stdout, run.stdout + run.stderr
    assert "failed" not in run.stderr.lower(), run.stderr

    sel = 'scheduler_id="my-service-eod-process"'
    prometheus.wait_for(f'scheduler_status{{{sel},status="completed"}} == 1')
    assert prometheus.value(f'scheduler_runs_total{{{sel},outcome="success"}}') == 1
    info = prometheus.query(f"scheduler_info{{{sel}}}")[0]["metric"]
    assert (info["service_name"], info["job_name"], info["owner_email"]) == (
        "My Service",
        "EOD Processing",
        "team@example.com",
    )
    duration = prometheus.value(f"scheduler_last_run_duration_seconds{{{sel}}}")
    assert duration is not None and 0 <= duration < 60


def test_nodejs_climate_client_runs_as_written(
    stack: Stack, pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    node_tool("tsx")
    bridge = bridge_factory(pushgateway.url)
    prometheus = stack.prometheus(targets=[pushgateway.url.split("://")[1]])
    run = subprocess.run(
        ["node", "climate_client.js"],
        cwd=NODE_CLIENTS,
        env={"PATH": "/usr/bin:/bin", "BRIDGE_URL": bridge.url, "API_KEY": ADMIN_KEY},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    answers = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(answers) == {"status", "pipeline", "alert"}

    prometheus.wait_for('service_status{service="node-service",status="up"} == 1')
    info = prometheus.query('service_info{service="node-service"}')[0]["metric"]
    assert info["endpoint"] == "http://example-service:3000"
    for metric_type in ("cpu", "memory", "disk"):
        reported = prometheus.value(
            f'service_reported_value{{service="node-service",metric_type="{metric_type}"}}'
        )
        assert reported is not None and reported >= 0
    prometheus.wait_for('pipeline_status{pipeline_type="data_ingestion",status="running"} == 1')
    assert prometheus.value('pipeline_progress_ratio{pipeline_type="data_ingestion"}') == 0.45
    assert prometheus.value('service_alerts_total{service="node-service",severity="warning"}') == 1
