"""The real Prometheus: its config built from scrape targets, rule files and an Alertmanager, started with
1s intervals and the lifecycle API (for reloads), and a small client for its query and status API."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests
import yaml

from stack.processes import ServerProcess, binary, free_port, start_server, wait_until


def prometheus_config(
    targets: Sequence[str],
    *,
    scrape_configs: Sequence[Mapping[str, Any]],
    rule_files: Sequence[Path | str],
    alertmanager_url: str | None,
    interval: str,
    honor_labels: bool,
) -> dict[str, Any]:
    """`targets` (host:port) are scraped as job "test"; `scrape_configs` are taken as they are."""
    jobs: list[dict[str, Any]] = [dict(job) for job in scrape_configs]
    if targets:
        static = [{"targets": list(targets)}]
        jobs.append({"job_name": "test", "honor_labels": honor_labels, "static_configs": static})
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": jobs,
        "rule_files": [str(Path(path).resolve()) for path in rule_files],
    }
    if alertmanager_url:
        host = alertmanager_url.split("://", 1)[1].rstrip("/")
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
    return config


def start_prometheus(
    data_dir: Path, config: Mapping[str, Any], extra_args: Iterable[str] = ()
) -> tuple[ServerProcess, Path]:
    """The started process and the path of the config file it reads."""
    config_path = data_dir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary("prometheus"),
        f"--config.file={config_path}",
        f"--storage.tsdb.path={data_dir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        f"--web.external-url={url}",
        "--rules.alert.resend-delay=1s",
        "--rules.alert.for-grace-period=1s",
        *extra_args,
    ]
    return start_server("prometheus", argv, url, log_dir=data_dir), config_path


class Prometheus:
    def __init__(self, process: ServerProcess, config_path: Path) -> None:
        self.process = process
        self.url = process.url
        self.config_path = config_path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; returns the vector's samples (`metric` labels and `value`)."""
        response = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        return list(body["data"]["result"])

    def value(self, expr: str) -> float | None:
        """The single sample's value of `expr`, or None when the result is empty."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) > 1:
            raise AssertionError(f"{expr!r} returned {len(result)} series, expected one")
        return float(result[0]["value"][1])

    def wait_for(
        self,
        expr: str,
        predicate: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout: float = 15.0,
    ) -> list[dict[str, Any]]:
        """Poll `expr` until `predicate(result)` holds; return the result."""
        holder: dict[str, list[dict[str, Any]]] = {}

        def check() -> bool:
            holder["result"] = self.query(expr)
            return predicate(holder["result"])

        wait_until(check, timeout=timeout, interval=0.2, what=f"PromQL {expr!r}")
        return holder["result"]

    def targets(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/api/v1/targets", timeout=5)
        return list(response.json()["data"]["activeTargets"])

    def alerts(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/api/v1/alerts", timeout=5)
        return list(response.json()["data"]["alerts"])

    def reload(self) -> None:
        requests.post(f"{self.url}/-/reload", timeout=10).raise_for_status()
