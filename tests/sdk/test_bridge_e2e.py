"""The SDK against the real bridge, a real Pushgateway and Prometheus.

The seed snippet runs verbatim in a subprocess, so its `base_url='http://localhost:17000'` is where the bridge
listens in these tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import requests
import yaml

from fakes.otlp import OtlpReceiver
from monitoring_sdk import AppRef, ClimateClient, Monitored, SchedulerClient, SidecarEmitter
from monitoring_sdk.settings import Settings
from monitoring_sdk.spool import Spool
from stack import Prometheus, Pushgateway, ServerProcess, Stack, free_port, wait_until

pytest.importorskip("pushgateway_bridge")
pytestmark = pytest.mark.slow

SEED_PORT = 17000
SEED_SNIPPET = """\
from monitoring_sdk import AppRef, Monitored, SidecarEmitter
from uuid import uuid4

app = AppRef(app_id=uuid4(), name='my-app', version='1.0.0')
emitter = SidecarEmitter(base_url='http://localhost:17000')

with Monitored(site_id='site1', app=app, entity_type='job',
               business_key='daily-batch', emitter=emitter):
    # Your code here
    process_data()
"""
SEED_FILE = Path("/work/shared/seeds/monitoring-component-sdk-sidecar.md")


def bridge_executable() -> str:
    found = shutil.which("pushgateway-bridge") or str(Path(sys.executable).with_name("pushgateway-bridge"))
    if not Path(found).exists():
        pytest.fail("pushgateway-bridge is importable but its command is not installed", pytrace=False)
    return found


@dataclass
class Bridge:
    stack: Stack
    pushgateway: Pushgateway
    prometheus: Prometheus
    port: int
    config: Path
    data_dir: Path
    events_file: Path
    process: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        argv = [
            bridge_executable(),
            "--web.listen-address",
            f"127.0.0.1:{self.port}",
            "--config",
            str(self.config),
        ]
        env = {
            "BRIDGE_PUSHGATEWAY_URL": self.pushgateway.url,
            "BRIDGE_DATA_DIR": str(self.data_dir),
            "BRIDGE_EVENTS_FILE": str(self.events_file),
            "BRIDGE_FLUSH_INTERVAL_SECONDS": "0.2",
        }
        self.process = self.stack.process("bridge", argv, self.url, "/health", env=env)
        return self.process

    def events(self) -> list[dict[str, Any]]:
        """The event log the bridge writes instead of Loki."""
        if not self.events_file.exists():
            return []
        return [json.loads(line) for line in self.events_file.read_text().splitlines()]


def make_bridge(stack: Stack, tmp_path: Path, port: int, config: dict[str, Any]) -> Bridge:
    pushgateway = stack.pushgateway()
    prometheus = stack.prometheus(targets=[pushgateway.url.split("://", 1)[1]])
    config_path = tmp_path / "bridge.yml"
    config_path.write_text(yaml.safe_dump(config))
    return Bridge(
        stack, pushgateway, prometheus, port, config_path, tmp_path / "bridge-data", tmp_path / "events.jsonl"
    )


ANONYMOUS = {"anonymous": {"services": ["*"], "schedulers": ["*"], "rate_per_second": 1000}}


def require_seed_port() -> None:
    try:
        requests.get(f"http://127.0.0.1:{SEED_PORT}/health", timeout=1)
    except requests.ConnectionError:
        return
    pytest.fail(f"port {SEED_PORT} is taken: the seed snippet needs the bridge there", pytrace=False)


def run_script(
    tmp_path: Path, body: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "job.py"
    script.write_text(body)
    full_env = {"PATH": "/usr/bin:/bin", "SIDECAR_SPOOL_DIR": str(tmp_path / "spool"), **(env or {})}
    return subprocess.run(
        [sys.executable, str(script)], env=full_env, capture_output=True, text=True, timeout=60, check=False
    )


def seed_job(process_data: str) -> str:
    return textwrap.dedent(process_data) + "\n" + SEED_SNIPPET


def test_snippet_is_the_seeds_own_text() -> None:
    if not SEED_FILE.exists():
        pytest.skip("seed file not in this checkout")
    seed = SEED_FILE.read_text()
    code = seed.split("```python\n", 1)[1].split("```", 1)[0]
    # The seed imports uuid4 after the SDK; the snippet here has every other line as written.
    assert [line for line in code.splitlines() if line.strip()] == [
        line for line in SEED_SNIPPET.splitlines() if line.strip()
    ]


def test_seed_snippet_job_state_shows_up_in_prometheus(stack: Stack, tmp_path: Path) -> None:
    require_seed_port()
    bridge = make_bridge(stack, tmp_path, SEED_PORT, ANONYMOUS)
    bridge.start()
    result = run_script(tmp_path, seed_job("def process_data():\n    sum(range(10**6))\n"))
    assert result.returncode == 0, result.stderr

    group = 'site="site1", app="my-app", entity_type="job", business_key="daily-batch"'
    bridge.prometheus.wait_for(f'sidecar_job_status{{status="finished", {group}}} == 1')
    assert bridge.prometheus.value(f'sidecar_job_status{{status="running", {group}}}') == 0
    assert bridge.prometheus.value(f'sidecar_job_runs_total{{outcome="success", {group}}}') == 1
    assert bridge.prometheus.value("sidecar_job_last_duration_seconds") >= 0  # type: ignore[operator]


def test_seed_snippet_sends_sidecar_api_key_when_set(stack: Stack, tmp_path: Path) -> None:
    require_seed_port()
    key = "k-" + uuid4().hex
    config = {
        "api_keys": [
            {
                "name": "batch",
                "sha256": hashlib.sha256(key.encode()).hexdigest(),
                "services": ["*"],
                "schedulers": ["*"],
            }
        ]
    }
    bridge = make_bridge(stack, tmp_path, SEED_PORT, config)  # no anonymous access: the key is needed
    bridge.start()
    result = run_script(tmp_path, seed_job("def process_data():\n    pass\n"), {"SIDECAR_API_KEY": key})
    assert result.returncode == 0, result.stderr
    bridge.prometheus.wait_for('sidecar_job_status{status="finished", business_key="daily-batch"} == 1')
    spool = Settings(spool_dir=tmp_path / "spool").spool_path("http://localhost:17000")
    assert not Spool(spool).pending()  # every event was delivered, none waits


def test_failure_is_reported_with_the_exception_and_propagates(stack: Stack, tmp_path: Path) -> None:
    require_seed_port()
    bridge = make_bridge(stack, tmp_path, SEED_PORT, ANONYMOUS)
    bridge.start()
    result = run_script(
        tmp_path,
        seed_job("def process_data():\n    raise ValueError('wafer lot 42 unreadable')\n"),
    )
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("ValueError: wafer lot 42 unreadable")

    bridge.prometheus.wait_for('sidecar_job_status{status="failed", business_key="daily-batch"} == 1')
    assert bridge.prometheus.value('sidecar_job_runs_total{outcome="failure"}') == 1
    (failed,) = wait_until(
        lambda: [e for e in bridge.events() if e["kind"] == "failed"],
        timeout=10,
        what="failed event in the bridge's event log",
    )
    assert failed["business_key"] == "daily-batch"
    assert failed["message"] == "ValueError: wafer lot 42 unreadable"
    assert failed["metadata"]["error_type"] == "ValueError"
    assert failed["metadata"]["error_message"] == "wafer lot 42 unreadable"
    assert "raise ValueError('wafer lot 42 unreadable')" in failed["metadata"]["stack_trace"]
    assert failed["labels"]["level"] == "error"
    assert failed["duration_s"] >= 0


def test_bridge_hung_then_down_during_the_job_events_arrive_after_it_returns(
    stack: Stack, tmp_path: Path
) -> None:
    """The job ends while the bridge hangs (its events only queue); they reach Prometheus once it is back."""
    bridge = make_bridge(stack, tmp_path, free_port(), ANONYMOUS)
    process = bridge.start()
    app = AppRef(app_id=uuid4(), name="resilient-app", version="1.0.0")
    emitter = SidecarEmitter(
        bridge.url, spool_path=tmp_path / "spool.sqlite3", backoff_s=0.05, max_backoff_s=0.3, timeout_s=60
    )

    def nightly_job() -> None:
        with Monitored(site_id="site1", app=app, business_key="nightly", emitter=emitter) as job:
            wait_until(lambda: emitter.stats.sent >= 1, timeout=5, what="started event delivered")
            os.kill(process.pid, signal.SIGSTOP)  # the bridge hangs: it takes requests and answers none
            for step in range(1, 5):
                job.progress(step, 4, f"step {step}")
                time.sleep(0.05)  # pacing, as a job's steps take time

    runner = ThreadPoolExecutor(max_workers=1)
    try:
        try:
            runner.submit(nightly_job).result(timeout=30)  # a condition, not a speed: see the message
        except TimeoutError:
            pytest.fail("the job waited on the hung bridge (each request there lasts timeout_s=60)")
        # The job is done while the sender still waits for an answer to its first progress batch.
        assert (emitter.stats.sent, emitter.stats.spooled) == (1, 0)
        process.kill()  # then it dies: the held request fails, the sender retries, then spools
        wait_until(lambda: len(emitter.spool) == 5, timeout=10, what="progress and finished events spooled")

        bridge.start()  # same port, same data: the bridge is back
        bridge.prometheus.wait_for(
            'sidecar_job_status{status="finished", business_key="nightly"} == 1', timeout=20
        )
        assert bridge.prometheus.value('sidecar_job_progress_ratio{business_key="nightly"}') in (1.0, None)
        wait_until(lambda: not emitter.spool.pending(), timeout=10, what="spool emptied")
        assert emitter.stats.sent == 6
    finally:
        process.kill()
        runner.shutdown(wait=False)
        emitter.close()


def test_traced_seed_job_events_carry_the_trace_id_into_the_bridge(
    stack: Stack, tmp_path: Path, otlp: OtlpReceiver
) -> None:
    require_seed_port()
    bridge = make_bridge(stack, tmp_path, SEED_PORT, ANONYMOUS)
    bridge.start()
    result = run_script(
        tmp_path, seed_job("def process_data():\n    pass\n"), {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url}
    )
    assert result.returncode == 0, result.stderr
    assert "rejected" not in result.stderr, result.stderr  # the bridge takes trace_id and span_id
    wait_until(lambda: len(otlp.spans) == 1, timeout=10, what="the job span")
    (span,) = otlp.spans
    events = wait_until(lambda: len(bridge.events()) == 2 and bridge.events(), timeout=10, what="two events")
    assert {event["trace_id"] for event in events} == {span.trace_id.hex()}
    bridge.prometheus.wait_for('sidecar_job_status{status="finished", business_key="daily-batch"} == 1')


def test_clients_three_lines_each_against_the_bridge(stack: Stack, tmp_path: Path) -> None:
    bridge = make_bridge(stack, tmp_path, free_port(), ANONYMOUS)
    bridge.start()

    climate = ClimateClient(bridge.url, "sdk-service")
    climate.update_status("up", "http://sdk-service:8000")
    climate.send_metric("cpu", 45.2)
    climate.update_pipeline("training", "running", {"step": "epoch 1", "progress": 45})
    climate.send_alert("High CPU Usage", "CPU usage above 90%", severity=2)

    eod = SchedulerClient(
        bridge.url + "/api/v1", None, "sdk-eod", "SDK Service", "EOD", heartbeat_interval_s=0.1
    )
    with eod.run() as run:
        wait_until(lambda: eod.heartbeats_sent >= 1, timeout=5, what="a heartbeat")
        run.metadata["records_processed"] = 10
    assert eod.last_error is None

    with (
        pytest.raises(RuntimeError),
        SchedulerClient(bridge.url + "/api/v1", None, "sdk-eod-bad", "SDK Service", "EOD bad").run(
            heartbeat=False
        ),
    ):
        raise RuntimeError("eod broke")

    prometheus = bridge.prometheus
    prometheus.wait_for('service_status{service="sdk-service", status="up"} == 1')
    prometheus.wait_for('scheduler_status{scheduler_id="sdk-eod", status="completed"} == 1')
    prometheus.wait_for('scheduler_status{scheduler_id="sdk-eod-bad", status="failed"} == 1')
