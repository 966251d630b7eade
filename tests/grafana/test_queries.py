"""Every dashboard PromQL query against the real Prometheus tools, and every metric name against what the
exporter, the bridge, the recording rules and Prometheus itself really produce (no hand list). LogQL:
test_logql_queries.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from generator.source import load_source
from grafana.dashboard_queries import ROOT, Query, metric_names, queries
from scripts.bundle_run.configs import BLACKBOX_CONFIG, endpoints_job
from stack import Prometheus, Stack, binary, free_port

FIXTURES = ROOT / "tests" / "exporter" / "fixtures"
CADVISOR_FIXTURE = Path(__file__).parent / "fixtures" / "cadvisor.prom"
PI4_COLLECTORS = (
    "cpu", "cpufreq", "diskstats", "hwmon", "loadavg", "meminfo", "netdev", "rpi_throttled", "stat", "thermal_zone",
)  # fmt: skip
PROMETHEUS_SYNTHETIC = re.compile(r"^(up|scrape_\w+|ALERTS|ALERTS_FOR_STATE)$")


def promtool_check(exprs: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`promtool check rules` on one recording rule per expression: promtool 2.42 has no parse-only mode."""
    rules = [{"record": f"dashboard:query_{index}:check", "expr": expr} for index, expr in enumerate(exprs)]
    path = tmp_path / "dashboard-queries.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, sort_keys=False))
    return subprocess.run(
        [binary("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_promtool_check_rejects_a_broken_expression(tmp_path: Path) -> None:
    assert promtool_check(["sum by (instance) (rate(up[5m]))"], tmp_path).returncode == 0
    result = promtool_check(["sum by (instance) (rate(up[5m])"], tmp_path)
    assert result.returncode != 0
    assert "unclosed" in (result.stdout + result.stderr).lower()


def test_every_promql_expression_parses_with_template_variables_substituted(tmp_path: Path) -> None:
    found = queries("prometheus")
    assert len(found) >= 60, f"only {len(found)} PromQL queries found: is the extraction broken?"
    assert all("$" not in query.substituted for query in found)
    result = promtool_check([query.substituted for query in found], tmp_path)
    if result.returncode != 0:
        broken = [
            f"{q.dashboard}: {q.where}: {q.expr}\n  {promtool_check([q.substituted], tmp_path).stdout.strip()}"
            for q in found
            if promtool_check([q.substituted], tmp_path).returncode != 0
        ]
        pytest.fail(
            "promtool rejects dashboard queries:\n" + "\n".join(broken or [result.stdout + result.stderr])
        )
    assert f"SUCCESS: {len(found)} rules found" in result.stdout


def test_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, handler) (rate(bridge_http_request_duration_seconds_bucket{job="b"}'
        '[5m]))) / on (instance) group_left (node) count without (cpu) (node_cpu_seconds_total{mode="idle"}) '
        'or label_replace(vector(1), "alertname", "X", "", "") and time() - up offset 5m > bool 3'
    )
    assert metric_names(expr) == {
        "bridge_http_request_duration_seconds_bucket",
        "node_cpu_seconds_total",
        "up",
    }


def catalogue_names() -> set[str]:
    """Metric names of docs/metrics.md's tables (first column), with a histogram's series suffixes."""
    names: set[str] = set()
    for line in (ROOT / "docs" / "metrics.md").read_text().splitlines():
        match = re.match(r"\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*(\w+)", line)
        if match:
            name, kind = match.groups()
            names.add(name)
            if kind == "histogram":
                names.update(f"{name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
    return names


def recording_rule_names() -> set[str]:
    names: set[str] = set()
    for path in sorted((ROOT / "rules").glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names.update(rule["record"] for rule in group["rules"] if "record" in rule)
    return names


def start_exporter(stack: Stack, *flags: str) -> str:
    exporter = shutil.which("host-exporter", path=str(Path(sys.executable).parent))
    assert exporter, "host-exporter is not installed in this venv (make setup)"
    port = free_port()
    argv = [exporter, f"--web.listen-address=127.0.0.1:{port}", *flags]
    stack.process("host-exporter", argv, f"http://127.0.0.1:{port}", ready_path="/metrics")
    return f"127.0.0.1:{port}"


def start_bridge(stack: Stack, tmp_path: Path, pushgateway_url: str) -> str | None:
    bridge = shutil.which("pushgateway-bridge", path=str(Path(sys.executable).parent))
    if bridge is None:
        return None
    config = tmp_path / "bridge.yml"
    config.write_text(yaml.safe_dump({"auth_disabled": True, "flush_interval_seconds": 0.2}))
    port = free_port()
    env = {"BRIDGE_PUSHGATEWAY_URL": pushgateway_url, "BRIDGE_DATA_DIR": str(tmp_path / "bridge-data")}
    argv = [bridge, f"--web.listen-address=127.0.0.1:{port}", f"--config={config}"]
    stack.process("bridge", argv, f"http://127.0.0.1:{port}", "/health", env=env)
    return f"127.0.0.1:{port}"


def feed_bridge(url: str) -> None:
    """One of each kind of event, so the bridge pushes scheduler, service, pipeline and sidecar groups."""
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/schedulers/register",
         {"scheduler_id": "dash-1", "service_name": "svc", "job_name": "eod", "owner_email": "o@example.com"}),
        ("PUT", "/api/v1/schedulers/dash-1/status", {"status": "running"}),
        ("POST", "/api/v1/schedulers/dash-1/heartbeat", {}),
        ("PUT", "/api/v1/schedulers/dash-1/status", {"status": "failed", "execution_time_ms": 1200}),
        ("PUT", "/api/v1/schedulers/dash-1/status", {"status": "completed", "execution_time_ms": 900}),
        ("POST", "/services/", {"name": "svc", "status": "up", "endpoint": "http://svc"}),
        ("POST", "/metrics/", {"service": "svc", "metric_type": "cpu", "value": 12.5}),
        ("POST", "/pipelines/", {"pipeline_type": "training", "status": "running",
                                 "metadata": {"progress": 40, "step": "fit"}}),
        ("POST", "/pipelines/", {"pipeline_type": "training", "status": "failed"}),
        ("POST", "/pipelines/", {"pipeline_type": "training", "status": "completed"}),
        ("POST", "/v1/event", {"site_id": "s", "app": {"name": "app"}, "entity_type": "job", "business_key": "k",
                               "kind": "started"}),
        ("POST", "/v1/event", {"site_id": "s", "app": {"name": "app"}, "entity_type": "job", "business_key": "k",
                               "kind": "failed", "duration_s": 2, "cpu_seconds": 1, "memory_bytes": 1000}),
    ]  # fmt: skip
    for method, path, body in calls:
        response = requests.request(method, url + path, json=body, timeout=5)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"


@pytest.fixture(scope="module")
def cadvisor() -> Iterator[str]:
    """cAdvisor-shaped series (fixtures/cadvisor.prom) on /metrics: cAdvisor itself cannot run here."""
    body = CADVISOR_FIXTURE.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def start_blackbox(stack: Stack) -> str:
    port = free_port()
    argv = [binary("prometheus-blackbox-exporter"), f"--config.file={BLACKBOX_CONFIG}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    stack.process("blackbox", argv, f"http://127.0.0.1:{port}", ready_path="/-/healthy")
    return f"127.0.0.1:{port}"


def live_names(stack: Stack, tmp_path: Path, cadvisor: str) -> tuple[set[str], Prometheus]:
    """Names in a real Prometheus that scrapes two exporters (a Pi 4 fixture tree and this machine), the
    bridge and Pushgateway, the blackbox exporter probing the endpoints the bridge lists (make run's job)
    and cAdvisor-shaped series, and evaluates the rendered rules plus one always-firing alert (for ALERTS)."""
    pi4 = start_exporter(
        stack,
        f"--path.procfs={FIXTURES / 'proc'}",
        f"--path.sysfs={FIXTURES / 'sys-pi4'}",
        "--collector.disable-defaults",
        *(f"--collector.{name}" for name in PI4_COLLECTORS),
    )
    host = start_exporter(stack)
    pushgateway = stack.pushgateway()
    bridge = start_bridge(stack, tmp_path, pushgateway.url)
    firing = tmp_path / "firing.rules.yml"
    firing.write_text(
        yaml.safe_dump({"groups": [{"name": "t", "rules": [{"alert": "Always", "expr": "vector(1)"}]}]})
    )
    scrape_configs: list[dict[str, Any]] = [
        {"job_name": "node", "static_configs": [{"targets": [pi4, host]}]},
        {
            "job_name": "pushgateway",
            "honor_labels": True,
            "static_configs": [{"targets": [pushgateway.url[7:]]}],
        },
        {"job_name": "cadvisor", "static_configs": [{"targets": [cadvisor]}]},
    ]
    if bridge:
        scrape_configs.append({"job_name": "bridge", "static_configs": [{"targets": [bridge]}]})
        feed_bridge(f"http://{bridge}")
        # A service whose endpoint answers: the bridge's own /health (feed_bridge's http://svc does not).
        probed = {"name": "svc-probed", "status": "up", "endpoint": f"http://{bridge}/health"}
        assert requests.post(f"http://{bridge}/services/", json=probed, timeout=5).status_code == 200
        key_file = tmp_path / "bridge_api_key"
        key_file.write_text("any: auth is disabled")
        job = load_source(ROOT / "monitoring.yml").endpoints.job
        probes = endpoints_job(job, f"http://{bridge}", start_blackbox(stack), str(key_file), "1s")
        scrape_configs.append(probes)
    prometheus = stack.prometheus(
        scrape_configs=scrape_configs, rule_files=[*sorted((ROOT / "rules").glob("*.rules.yml")), firing]
    )
    targets = len(
        [t for job in scrape_configs for t in job.get("static_configs", [{}])[0].get("targets", [])]
    )
    if bridge:
        targets += 2  # the two services' endpoints, through the blackbox exporter
    prometheus.wait_for("up == 1", lambda result: len(result) == targets, timeout=20)
    if bridge:
        prometheus.wait_for('probe_success{service="svc-probed"} == 1', timeout=20)
    prometheus.wait_for('ALERTS{alertname="Always"}')
    # Rate-based recording rules need two scrapes of the exporters.
    prometheus.wait_for("instance:node_cpu_utilisation:rate5m", lambda result: len(result) == 2, timeout=20)
    if bridge:  # the bridge's pushes reached Pushgateway and were scraped
        for name in (
            "scheduler_runs_total",
            "service_status",
            "pipeline_runs_total",
            "sidecar_job_runs_total",
        ):
            prometheus.wait_for(name, timeout=20)
    result = prometheus.query('count by (__name__) ({__name__=~".+"})')
    return {sample["metric"]["__name__"] for sample in result}, prometheus


@pytest.fixture(scope="module")
def live_stack(
    module_stack: Stack, tmp_path_factory: pytest.TempPathFactory, cadvisor: str
) -> tuple[set[str], Prometheus]:
    """`live_names` once for the module (about 10 s to start and fill): both tests only read it."""
    return live_names(module_stack, tmp_path_factory.mktemp("live"), cadvisor)


def test_every_metric_a_dashboard_names_is_produced_by_the_bundle(
    live_stack: tuple[set[str], Prometheus],
) -> None:
    live, _ = live_stack
    assert {"node_load1", "node_rpi_throttled", "up", "ALERTS", "scrape_duration_seconds"} <= live
    if shutil.which("pushgateway-bridge", path=str(Path(sys.executable).parent)):
        assert "bridge_http_requests_total" in live, "the bridge was scraped but exposes none of its metrics"
        # What the bridge pushed through Pushgateway is checked live, not only against the catalogue.
        pushed = {"scheduler_info", "scheduler_status", "scheduler_consecutive_failures", "service_info",
                  "pipeline_step_info", "pipeline_progress_ratio", "sidecar_job_status"}  # fmt: skip
        assert pushed <= live, pushed - live
    catalogue = catalogue_names()
    assert {"scheduler_info", "pipeline_status", "bridge_outbox_pending"} <= catalogue
    recorded = recording_rule_names()
    known = live | catalogue | recorded
    unknown: dict[str, list[Query]] = {}
    for query in queries("prometheus"):
        for name in metric_names(query.substituted):
            if name not in known:
                unknown.setdefault(name, []).append(query)
    report = {name: sorted({f"{q.dashboard}: {q.where}" for q in uses}) for name, uses in unknown.items()}
    assert report == {}, f"metrics no exporter, bridge, rule or Prometheus produces: {report}"
    used = {name for query in queries("prometheus") for name in metric_names(query.substituted)}
    catalogue_only = used - live - recorded
    # Only series that need events the feed does not send (alerts, heartbeats of old runs...) may be
    # known from the catalogue alone; print them so a reader sees what was not seen live.
    print(f"dashboard metrics known from docs/metrics.md only: {sorted(catalogue_only)}")
    assert len(catalogue_only) <= 5, sorted(catalogue_only)


def test_dashboard_queries_run_on_the_live_stack(live_stack: tuple[set[str], Prometheus]) -> None:
    """Host and bundle queries return data from the real exporter; none fails to execute."""
    _, prometheus = live_stack
    with_data = set()
    for query in queries("prometheus"):
        response = requests.get(
            f"{prometheus.url}/api/v1/query", params={"query": query.substituted}, timeout=10
        )
        body = response.json()
        assert body["status"] == "success", f"{query.dashboard}: {query.where}: {body}"
        if body["data"]["result"]:
            with_data.add((query.dashboard, query.where))
    for title in (
        "CPU busy",
        "Memory used",
        "CPU temperature",
        "Throttling and under-voltage",
        "Load per CPU",
    ):
        assert ("hosts.json", title) in with_data, f"hosts.json: {title} shows no data from the exporter"
    assert ("hosts.json", "$instance") in with_data
    if shutil.which("pushgateway-bridge", path=str(Path(sys.executable).parent)):
        for title in ("Endpoints", "Endpoint availability", "Endpoint response time", "Probe status code"):
            assert ("services.json", title) in with_data, f"services.json: {title} shows no probe data"
    for title in ("Containers", "Memory working set", "$container", "$instance"):
        assert ("containers.json", title) in with_data, f"containers.json: {title} shows no cAdvisor data"
    assert ("bundle.json", "Targets up") in with_data
