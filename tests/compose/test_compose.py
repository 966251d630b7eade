"""docker-compose.yml and the configs it mounts: valid for a real compose implementation and the real
Prometheus tools, pinned images, mounts that exist, and the rendered configs (not copies) mounted."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bundle_common.listen import parse_listen_address
from generator.render import render_all
from generator.source import load_source
from monitoring_sdk.settings import DEFAULT_SIDECAR_URL
from scripts.bundle_run.configs import BLACKBOX_CONFIG, endpoints_job
from stack import binary

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# What of the host each service may read, read-only: the exporter its /proc, /sys and root; cAdvisor the
# mounts its documentation gives (github.com/google/cadvisor, docs/running.md and README).
HOST_PATHS = {
    "exporter": {"/proc": "/host/proc", "/sys": "/host/sys", "/": "/host/root"},
    "cadvisor": {
        "/": "/rootfs",
        "/var/run": "/var/run",
        "/sys": "/sys",
        "/var/lib/docker/": "/var/lib/docker",
        "/dev/disk/": "/dev/disk",
    },
    "alloy": {"/var/run/docker.sock": "/var/run/docker.sock"},  # loki.source.docker reads logs by the API
}
SECRETS = "./secrets"  # not in git: grafana/README.md says what goes in it
PROMETHEUS_KEY = "prometheus_bridge_api_key"  # the bridge key Prometheus reads the endpoints' discovery with


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def bind_mounts() -> list[tuple[str, str, str]]:
    """(service, host path, container path) of every bind mount (named volumes left out)."""
    mounts = []
    for name, service in services().items():
        for volume in service.get("volumes", []):
            host, container = volume.split(":")[:2]
            if host.startswith(("./", "/")):
                mounts.append((name, host, container))
    return mounts


def mount_of(service: str, container: str) -> str:
    hosts = [host for name, host, target in bind_mounts() if name == service and target == container]
    assert hosts, f"{service}: nothing is bind-mounted at {container}"
    return hosts[0]


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_compose_file_validates_with_docker_compose(tmp_path: Path) -> None:
    result = run(binary("docker-compose"), "-f", str(COMPOSE), "config", "-q")
    assert result.returncode == 0, result.stderr
    # The check is real: an unknown key fails it.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    healthcheck:", "    healthchek:", 1))
    result = run(binary("docker-compose"), "-f", str(broken), "config", "-q", cwd=tmp_path)
    assert result.returncode != 0
    assert "healthchek" in result.stderr


def test_the_bundle_has_every_service() -> None:
    expected = {"prometheus", "pushgateway", "alertmanager", "loki", "tempo", "grafana", "bridge", "exporter"}
    expected |= {"blackbox", "cadvisor"}  # the endpoint probes; the containers' metrics
    expected |= {"alloy"}  # the containers' own logs to Loki
    assert set(services()) == expected


def test_every_image_has_a_pinned_tag() -> None:
    for name, service in services().items():
        image = service.get("image")
        assert image, f"{name}: no image (built services are tagged too)"
        match = re.fullmatch(r"[a-z0-9./_-]+:([A-Za-z0-9._-]+)", image)
        assert match, f"{name}: image {image!r} has no tag"
        assert match.group(1) != "latest", f"{name}: image {image!r} is not pinned"
        assert re.search(r"\d", match.group(1)), f"{name}: tag of {image!r} is not a version"


def test_every_service_has_a_healthcheck_and_named_volumes_are_declared() -> None:
    declared = set(compose()["volumes"])
    used = set()
    for name, service in services().items():
        check = service.get("healthcheck", {})
        assert check.get("test", [None])[0] == "CMD", f"{name}: no healthcheck"
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            if not host.startswith(("./", "/")):
                assert host in declared, f"{name}: volume {host} is not declared"
                used.add(host)
    assert used == declared
    # Stateful services keep their data on named volumes.
    for name, path in [("prometheus", "/prometheus"), ("pushgateway", "/data"), ("alertmanager", "/alertmanager"),
                       ("loki", "/loki"), ("tempo", "/var/tempo"), ("grafana", "/var/lib/grafana"),
                       ("bridge", "/data")]:  # fmt: skip
        assert any(
            v.endswith(f":{path}") and not v.startswith((".", "/")) for v in services()[name]["volumes"]
        )


def test_every_bind_mounted_path_exists_in_the_repository() -> None:
    for name, host, container in bind_mounts():
        if host.startswith("/"):
            assert HOST_PATHS.get(name, {}).get(host) == container, f"{name} mounts host {host}"
            assert f"{host}:{container}:ro" in services()[name]["volumes"], f"{name}: {host} is writable"
            continue
        if host == SECRETS:
            continue
        assert (ROOT / host).exists(), f"{name}: {host} does not exist in the repository"
        assert (ROOT / host).resolve().is_relative_to(ROOT)


def test_secrets_stay_out_of_git_and_are_documented() -> None:
    assert not (ROOT / "secrets").exists() or run("git", "ls-files", "secrets").stdout == ""
    readme = (ROOT / "grafana" / "README.md").read_text()
    alertmanager = (ROOT / "alertmanager" / "alertmanager.yml").read_text()
    needed = set(re.findall(r"/etc/alertmanager/secrets/(\w+)", alertmanager))
    assert needed, "the rendered Alertmanager config reads no secret files?"
    for secret in [*needed, "bridge.yml", "grafana_admin_password", PROMETHEUS_KEY]:
        assert f"`{secret}`" in readme, f"grafana/README.md does not say what secrets/{secret} is"
    assert mount_of("alertmanager", "/etc/alertmanager/secrets") == SECRETS
    assert mount_of("prometheus", "/etc/prometheus/secrets") == SECRETS


def test_alertmanager_gets_the_rendered_config_and_its_templates() -> None:
    rendered = render_all(load_source(ROOT / "monitoring.yml"))
    host = mount_of("alertmanager", "/etc/alertmanager/alertmanager.yml")
    assert host.removeprefix("./") in rendered
    assert (ROOT / host).read_text() == rendered[host.removeprefix("./")]
    assert mount_of("alertmanager", "/etc/alertmanager/templates") == "./alertmanager/templates"
    result = run(binary("amtool"), "check-config", str(ROOT / host))
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config_passes_promtool_with_the_rendered_rules(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    rules_mount = mount_of("prometheus", "/etc/prometheus/rules")
    assert rules_mount == "./rules"
    assert config["rule_files"] == [
        "/etc/prometheus/rules/*.rules.yml",
        "/etc/prometheus/api-rules/*.rules.yml",
    ]
    # The bridge's API alerts: the volume the bridge writes its rule file on.
    assert "api-rules:/etc/prometheus/api-rules:ro" in services()["prometheus"]["volumes"]
    assert "api-rules:/var/lib/bridge-rules" in services()["bridge"]["volumes"]
    assert (
        services()["bridge"]["environment"]["BRIDGE_ALERT_RULES_FILE"]
        == "/var/lib/bridge-rules/api.rules.yml"
    )
    # Point the rule glob at the repository's rules, as the container sees them.
    config["rule_files"] = [str(ROOT / "rules" / "*.rules.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    result = run(binary("promtool"), "check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(re.findall(r"SUCCESS: \d+ rules found", result.stdout)) == len(
        list((ROOT / "rules").glob("*.yml"))
    )


def test_prometheus_job_names_are_the_ones_the_rules_select() -> None:
    source = load_source(ROOT / "monitoring.yml")
    jobs = {
        job["job_name"]: job
        for job in yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    }
    assert set(source.hosts.exporter_jobs) <= set(jobs)
    assert "exporter:9100" in jobs[source.hosts.exporter_jobs[0]]["static_configs"][0]["targets"]
    assert jobs[source.bridge.job]["static_configs"][0]["targets"] == ["bridge:8000"]
    assert jobs["pushgateway"]["honor_labels"] is True
    assert "alertmanager:9093" in jobs["alertmanager"]["static_configs"][0]["targets"]


def test_loki_config_retains_and_rules_from_the_rendered_directory() -> None:
    config = yaml.safe_load((ROOT / "loki" / "loki.yml").read_text())
    assert config["compactor"]["retention_enabled"] is True
    assert re.fullmatch(r"\d+h", config["limits_config"]["retention_period"])
    assert config["limits_config"]["reject_old_samples_max_age"] == "168h"
    ruler = config["ruler"]
    assert ruler["storage"]["type"] == "local"
    assert ruler["alertmanager_url"] == "http://alertmanager:9093"
    # Local ruler storage reads <directory>/<tenant id>/*.yml; without auth, Loki's one tenant is "fake".
    assert config["auth_enabled"] is False
    host = mount_of("loki", f"{ruler['storage']['local']['directory']}/fake")
    assert host == "./loki/rules"
    rendered = {
        path: text
        for path, text in render_all(load_source(ROOT / "monitoring.yml")).items()
        if path.startswith("loki/")
    }
    assert rendered, "no Loki rules rendered"
    for path, text in rendered.items():
        assert Path(path).parent == Path(host), f"{path} is rendered outside the folder Loki reads"
        assert (ROOT / path).read_text() == text
        groups = yaml.safe_load(text)["groups"]
        assert all(rule["annotations"]["runbook_url"] for g in groups for rule in g["rules"])
    assert mount_of("loki", "/etc/loki/loki.yml") == "./loki/loki.yml"


def test_the_endpoint_probes_are_the_job_make_run_writes_pointed_at_the_compose_services() -> None:
    source = load_source(ROOT / "monitoring.yml")
    jobs = {
        job["job_name"]: job
        for job in yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    }
    key_file = f"/etc/prometheus/secrets/{PROMETHEUS_KEY}"
    expected = endpoints_job(source.endpoints.job, "http://bridge:8000", "blackbox:9115", key_file)
    assert jobs[source.endpoints.job] == expected
    assert jobs["blackbox"]["static_configs"][0]["targets"] == ["blackbox:9115"]
    blackbox = services()["blackbox"]
    config = mount_of("blackbox", "/etc/blackbox_exporter/config.yml")
    assert config == "./prometheus/blackbox.yml"
    assert "--config.file=/etc/blackbox_exporter/config.yml" in blackbox["command"]
    assert listen_ports(blackbox["command"]) == [9115]
    assert (ROOT / config).resolve() == BLACKBOX_CONFIG
    modules = yaml.safe_load(BLACKBOX_CONFIG.read_text())["modules"]
    assert modules[expected["params"]["module"][0]]["prober"] == "http"
    assert "blackbox" in services()["prometheus"]["depends_on"]


def test_blackbox_config_passes_the_exporters_own_check() -> None:
    result = run(binary("prometheus-blackbox-exporter"), f"--config.file={BLACKBOX_CONFIG}", "--config.check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_cadvisor_runs_as_documented_and_is_scraped() -> None:
    cadvisor = services()["cadvisor"]
    assert cadvisor["image"].startswith("gcr.io/cadvisor/cadvisor:v")
    assert cadvisor["privileged"] is True
    assert cadvisor["devices"] == ["/dev/kmsg:/dev/kmsg"]
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in cadvisor["volumes"]}
    assert mounted == HOST_PATHS["cadvisor"]
    jobs = {
        job["job_name"]: job
        for job in yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    }
    assert jobs["cadvisor"]["static_configs"][0]["targets"] == ["cadvisor:8080"]


# Tempo 2.5's documented configuration (grafana.com/docs/tempo/v2.5.x/configuration/, "Metrics-generator"
# and "Overrides"): the keys of the blocks this bundle sets. Tempo refuses unknown keys at start.
TEMPO_METRICS_GENERATOR_KEYS = {
    "ring", "processor", "registry", "storage", "traces_storage", "metrics_ingestion_time_range_slack",
    "query_timeout", "override_ring_key",
}  # fmt: skip
TEMPO_REGISTRY_KEYS = {"collection_interval", "stale_duration", "external_labels", "max_label_name_length",
                       "max_label_value_length"}  # fmt: skip
TEMPO_GENERATOR_STORAGE_KEYS = {"path", "wal", "remote_write_flush_deadline", "remote_write_add_org_id_header",
                                "remote_write"}  # fmt: skip
TEMPO_PROCESSORS = {"service-graphs", "span-metrics", "local-blocks"}


def test_tempo_generates_span_metrics_and_service_graphs_into_prometheus() -> None:
    config = yaml.safe_load((ROOT / "tempo" / "tempo.yml").read_text())
    generator = config["metrics_generator"]
    assert set(generator) <= TEMPO_METRICS_GENERATOR_KEYS
    assert set(generator["registry"]) <= TEMPO_REGISTRY_KEYS
    assert set(generator["storage"]) <= TEMPO_GENERATOR_STORAGE_KEYS
    # The WAL is on the tempo-data volume, so samples not yet written survive a restart.
    assert Path(generator["storage"]["path"]).is_relative_to("/var/tempo")
    (remote_write,) = generator["storage"]["remote_write"]
    url = urlsplit(remote_write["url"])
    assert (url.hostname, url.port, url.path) == ("prometheus", 9090, "/api/v1/write")
    prometheus = services()["prometheus"]["command"]
    assert "--web.enable-remote-write-receiver" in prometheus
    if remote_write.get("send_exemplars"):
        assert "--enable-feature=exemplar-storage" in prometheus
    # Tempo 2.3+ overrides: `defaults` (the legacy flat form, metrics_generator_processors, may not be mixed in).
    overrides = config["overrides"]
    assert set(overrides) == {"defaults"}
    processors = overrides["defaults"]["metrics_generator"]["processors"]
    assert set(processors) <= TEMPO_PROCESSORS
    assert {"service-graphs", "span-metrics"} <= set(processors)


def alloy_blocks(config: str) -> dict[str, dict[str, str]]:
    """The top-level blocks of an Alloy config (`kind "label" { ... }`) and their `name = value` lines."""
    blocks = {}
    for kind, label, body in re.findall(r'^([a-z_.]+) "([a-z_]+)" \{\n(.*?)^\}', config, re.M | re.S):
        lines = re.findall(r"^  ([a-z_]+)\s*=\s*(.+)$", body, re.M)
        blocks[f"{kind}.{label}"] = {name: value.strip() for name, value in lines} | {"": body}
    return blocks


def test_alloy_ships_every_containers_logs_to_loki_labelled_by_compose_service() -> None:
    assert mount_of("alloy", "/etc/alloy/config.alloy") == "./alloy/config.alloy"
    assert "/etc/alloy/config.alloy" in services()["alloy"]["command"]
    assert "loki" in services()["alloy"]["depends_on"]
    blocks = alloy_blocks((ROOT / "alloy" / "config.alloy").read_text())
    docker = '"unix:///var/run/docker.sock"'
    assert blocks["discovery.docker.containers"]["host"] == docker
    source = blocks["loki.source.docker.containers"]
    assert source["host"] == docker
    assert source["targets"] == "discovery.docker.containers.targets"
    assert source["relabel_rules"] == "discovery.relabel.containers.rules"
    # The chain ends in loki.write: source -> process -> write.
    assert source["forward_to"] == "[loki.process.levels.receiver]"
    assert "forward_to = [loki.write.loki.receiver]" in blocks["loki.process.levels"][""]
    # The label the bridge's log API matches (`service`) is the compose service's container label.
    assert re.search(
        r'source_labels = \["__meta_docker_container_label_com_docker_compose_service"\]\s*'
        r'target_label\s*= "service"',
        blocks["discovery.relabel.containers"][""],
    )
    (url,) = re.findall(r'url = "([^"]+)"', blocks["loki.write.loki"][""])
    loki = yaml.safe_load((ROOT / "loki" / "loki.yml").read_text())
    assert urlsplit(url)[1:3] == (f"loki:{loki['server']['http_listen_port']}", "/loki/api/v1/push")


def test_the_bridge_reads_logs_and_traces_from_the_compose_loki_and_tempo() -> None:
    env = services()["bridge"]["environment"]
    tempo = yaml.safe_load((ROOT / "tempo" / "tempo.yml").read_text())
    assert env["BRIDGE_TEMPO_URL"] == f"http://tempo:{tempo['server']['http_listen_port']}"
    assert env["BRIDGE_LOKI_URL"] == "http://loki:3100"


def test_tempo_takes_otlp_over_http_and_grpc() -> None:
    config = yaml.safe_load((ROOT / "tempo" / "tempo.yml").read_text())
    protocols = config["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"].endswith(":4318")
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert config["storage"]["trace"]["backend"] == "local"
    ports = services()["tempo"]["ports"]
    assert {"127.0.0.1:4317:4317", "127.0.0.1:4318:4318"} <= set(ports)


def test_grafana_mounts_provisioning_and_the_generated_dashboards() -> None:
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/dashboards.yml").read_text())[
        "providers"
    ][0]
    assert mount_of("grafana", provider["options"]["path"]) == "./grafana/dashboards"
    assert mount_of("grafana", "/etc/grafana/provisioning") == "./grafana/provisioning"
    datasources = yaml.safe_load((ROOT / "grafana/provisioning/datasources/datasources.yml").read_text())
    hosts = {ds["uid"]: ds["url"].split("//")[1].split(":")[0] for ds in datasources["datasources"]}
    assert set(hosts.values()) <= set(services())


@pytest.mark.parametrize("dist", ["exporter", "pushgateway-bridge"])
def test_dockerfiles_copy_what_their_build_context_has(dist: str) -> None:
    service = next(
        s for s in services().values() if s.get("build", {}).get("dockerfile") == f"{dist}/Dockerfile"
    )
    context = ROOT / service["build"]["context"]
    assert context == ROOT  # the repository: both images install common/ beside their own folder
    dockerfile = (context / service["build"]["dockerfile"]).read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", dockerfile, re.MULTILINE)
    ignore = [
        line for line in (context / ".dockerignore").read_text().splitlines() if line and line[0] != "#"
    ]
    assert ignore[0] == "*", ".dockerignore must send only what it lets through"
    let_through = [line[1:] for line in ignore if line.startswith("!")]
    copied = []
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE):
        *sources, _ = line.split()
        for source in sources:
            assert (context / source).exists(), f"{dist}/Dockerfile copies {source}, missing"
            assert source in let_through, f".dockerignore keeps {source} out of the build context"
            copied.append(source)
    assert {"common/src", f"{dist}/src"} <= set(copied)
    # bundle-common is on no package index: pip must get it from the copy, in the same install.
    assert re.search(rf"^RUN pip install \./common \./{dist} ", dockerfile, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE), f"{dist} runs as root"
    entry = re.search(r'^ENTRYPOINT \["([\w-]+)"\]', dockerfile, re.MULTILINE)
    assert entry
    assert entry.group(1) in (ROOT / dist / "pyproject.toml").read_text()
    assert service["image"].startswith("monitoring-bundle/")


def listen_ports(argv: list[str]) -> list[int]:
    addresses = [
        parse_listen_address(arg.split("=", 1)[1]) for arg in argv if arg.startswith("--web.listen-address=")
    ]
    assert all(address.bind_host == "0.0.0.0" for address in addresses), (
        "unreachable from the published ports"
    )
    return [address.port for address in addresses]


SYSTEM_SERVICE_PORT = 8013  # the System Service seed's curl commands and WebSocket snippet


def test_the_bridge_serves_and_publishes_8000_the_sidecar_sdks_17000_and_the_system_services_8013() -> None:
    bridge = services()["bridge"]
    sidecar_port = urlsplit(DEFAULT_SIDECAR_URL).port
    assert sidecar_port == 17000
    assert listen_ports(bridge["command"]) == [8000, sidecar_port, SYSTEM_SERVICE_PORT]
    assert bridge["ports"] == [
        "127.0.0.1:8000:8000",
        f"127.0.0.1:{sidecar_port}:{sidecar_port}",
        f"127.0.0.1:{SYSTEM_SERVICE_PORT}:{SYSTEM_SERVICE_PORT}",
    ]
    # The rendered notifications.yml is what the bridge loads.
    assert bridge["environment"]["BRIDGE_NOTIFICATIONS_FILE"] == "/etc/bridge/notifications.yml"
    # The image's own default serves both too.
    dockerfile = (ROOT / "pushgateway-bridge" / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert cmd
    assert listen_ports(json.loads(cmd.group(1))) == [8000, sidecar_port, SYSTEM_SERVICE_PORT]
    assert re.search(rf"^EXPOSE 8000 {sidecar_port} {SYSTEM_SERVICE_PORT}$", dockerfile, re.MULTILINE)
