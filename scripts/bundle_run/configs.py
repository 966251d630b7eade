"""The configuration files `make run` writes for this run: the bridge's keys, Alertmanager's routes (rendered
from monitoring.yml, pointed at this run's bridge) and Prometheus' scrape jobs (the endpoint probes among
them)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from generator.alertmanager import REPO_TEMPLATES
from generator.alertmanager import render as render_alertmanager
from generator.source import load_source
from scripts.bundle_run.paths import API_RULES_FILE, ROOT, RUN_DIR

# What requests without a key may write: the sidecar seed's snippet sends none. Loopback only, a demo.
# The System Service seed's curl commands and its browser WebSocket send none either: every user's
# notifications, on loopback.
ANONYMOUS_SCOPE: dict[str, Any] = {
    "services": ["*"],
    "schedulers": [],
    "users": ["*"],
    "read": True,
    "rate_per_second": 50,
}


def query_backends(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The bridge's Loki and Tempo for this run, from BUNDLE_LOKI_URL and BUNDLE_TEMPO_URL: neither runs
    here (no package of this machine runs their servers), so they are the caller's (a compose stack's,
    say). Without Loki the bridge writes and the log API reads the run's events file; without Tempo the
    trace API answers 503 naming tempo_url."""
    wanted = {"BRIDGE_LOKI_URL": "BUNDLE_LOKI_URL", "BRIDGE_TEMPO_URL": "BUNDLE_TEMPO_URL"}
    return {setting: environ[name] for setting, name in wanted.items() if environ.get(name)}


def bridge_config_file(demo_key: str) -> Path:
    path = RUN_DIR / "bridge.yml"
    path.write_text(yaml.safe_dump(bridge_config(demo_key), sort_keys=False))
    return path


def bridge_config(demo_key: str) -> dict[str, Any]:
    """A demo key that may write everything (printed; only its hash is stored), and the anonymous scope."""
    return {
        "api_keys": [
            {
                "name": "demo",
                "sha256": hashlib.sha256(demo_key.encode()).hexdigest(),
                "services": ["*"],
                "schedulers": ["*"],
                "notify": ["*"],  # Alertmanager sends this key to the Teams and SMS relays
                "users": ["*"],  # ... and to the alert receiver, whose alerts may name any user
                "read": True,  # ... and Prometheus to the service discovery of the endpoints it probes
                "rate_per_second": 100,
            }
        ],
        "anonymous": ANONYMOUS_SCOPE,
    }


def bridge_key_file(demo_key: str) -> Path:
    """The demo key in a file, for Alertmanager (the relays, the alert receiver) and Prometheus (the
    endpoints' service discovery), which read their credentials from files."""
    key_file = RUN_DIR / "bridge_api_key"
    key_file.write_text(demo_key)
    key_file.chmod(0o600)
    return key_file


def alertmanager_config(bridge_url: str, demo_key: str) -> Path:
    """Alertmanager's config rendered from monitoring.yml, with the Teams and SMS relays and the alert
    receiver at this run's bridge (authenticated with the demo key). The committed
    alertmanager/alertmanager.yml points at the bridge by its docker-compose name.
    """
    key_file = bridge_key_file(demo_key)
    update = {"bridge_url": bridge_url, "bridge_api_key_file": str(key_file)}
    source = load_source(ROOT / "monitoring.yml").model_copy(update=update)
    config = render_alertmanager(source, REPO_TEMPLATES)
    path = RUN_DIR / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


SD_PATH = "/api/v1/sd/endpoints"  # the bridge's HTTP service discovery of the climate services' endpoints
BLACKBOX_CONFIG = ROOT / "prometheus" / "blackbox.yml"


def endpoints_job(
    job_name: str, bridge_url: str, blackbox_address: str, key_file: str, refresh_interval: str = "1m"
) -> dict[str, Any]:
    """The scrape job that probes every endpoint the bridge lists through the blackbox exporter.

    The bridge answers a target per service: the endpoint URL, labelled `service`. Relabelling hands that
    URL to the exporter as `?target=` and keeps it as `instance`, and scrapes the exporter instead. The
    bridge wants a key with `read` (its services are the ones listed): Prometheus sends it as a Bearer.
    prometheus/prometheus.yml holds the same job for docker-compose (tests/compose checks they agree).
    """
    return {
        "job_name": job_name,
        "metrics_path": "/probe",
        "params": {"module": ["http_2xx"]},
        "http_sd_configs": [
            {
                "url": bridge_url.rstrip("/") + SD_PATH,
                "refresh_interval": refresh_interval,
                # `type` explicitly: Prometheus 2.42's http_sd sends the bare key without it (seen here).
                "authorization": {"type": "Bearer", "credentials_file": key_file},
            }
        ],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": blackbox_address},
        ],
    }


def prometheus_config(ports: dict[str, int], with_bridge: bool, bridge_key_file: Path) -> Path:
    """Prometheus' scrape jobs for this run; the endpoint probes read the bridge with `bridge_key_file`."""

    def job(name: str, port: int, **extra: Any) -> dict[str, Any]:
        return {"job_name": name, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}], **extra}

    probes = endpoints_job(
        load_source(ROOT / "monitoring.yml").endpoints.job,
        f"http://127.0.0.1:{ports['bridge']}",
        f"127.0.0.1:{ports['blackbox']}",
        str(bridge_key_file),
    )

    config = {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": [
            *(str(path) for path in sorted((ROOT / "rules").glob("*.rules.yml"))),
            *([str(API_RULES_FILE)] if with_bridge else []),
        ],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{ports['alertmanager']}"]}]}]
        },
        "scrape_configs": [
            job("prometheus", ports["prometheus"]),
            job("node", ports["exporter"]),
            *([job("bridge", ports["bridge"])] if with_bridge else []),
            job("pushgateway", ports["pushgateway"], honor_labels=True),
            job("alertmanager", ports["alertmanager"]),
            job("blackbox", ports["blackbox"]),
            *([probes] if with_bridge else []),
        ],
    }
    path = RUN_DIR / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
