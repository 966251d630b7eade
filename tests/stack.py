"""Start the real Prometheus stack on loopback for tests.

Every server gets a free 127.0.0.1 port and its own temporary data path, and is stopped by PID. Binaries
come from Debian's packages (`make test` installs them). With CI=true a missing binary is a failure, never a
skip: a green CI run must mean the real components were exercised.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

# Debian installs the servers under these names; upstream tarballs use the short ones.
BINARY_NAMES: dict[str, tuple[str, ...]] = {
    "prometheus": ("prometheus",),
    "promtool": ("promtool",),
    "pushgateway": ("prometheus-pushgateway", "pushgateway"),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "amtool": ("amtool",),
    "node_exporter": ("prometheus-node-exporter", "node_exporter"),
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def binary(name: str) -> str:
    """Path of a stack binary; skips the test when missing, fails it under CI."""
    for candidate in BINARY_NAMES.get(name, (name,)):
        found = shutil.which(candidate)
        if found:
            return found
    message = f"{name} not found (install: make setup, or apt-get install the prometheus packages)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Poll `check` until it returns something truthy; return that value or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (requests.RequestException, OSError, ValueError, KeyError) as exc:
            last_error = exc
        else:
            if result:
                return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error!r})")


@dataclass
class ServerProcess:
    """A server started by a test; `stop()` ends it by PID (SIGTERM, then SIGKILL)."""

    name: str
    argv: list[str]
    url: str
    log_path: Path
    popen: subprocess.Popen[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: for crash tests."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def start_server(
    name: str,
    argv: Sequence[str],
    url: str,
    *,
    log_dir: Path,
    ready_path: str = "/-/ready",
    env: Mapping[str, str] | None = None,
    timeout: float = 20.0,
    ready: Callable[[requests.Response], bool] | None = None,
    verify: bool | str = True,
) -> ServerProcess:
    """Start `argv`, wait until GET url+ready_path answers 200 (or `ready` says so), return the process."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **(env or {})}
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, env=full_env, start_new_session=True
        )
    server = ServerProcess(name=name, argv=list(argv), url=url, log_path=log_path, popen=popen)
    is_ready = ready or (lambda response: response.status_code == 200)

    def check() -> bool:
        if not server.alive():
            raise AssertionError(f"{name} exited with {popen.returncode}:\n{server.log()}")
        return is_ready(requests.get(url + ready_path, timeout=2, verify=verify))

    try:
        wait_until(check, timeout=timeout, what=f"{name} at {url}{ready_path}")
    except AssertionError as exc:
        server.stop()
        raise AssertionError(f"{exc}\n--- {name} log ---\n{server.log()}") from None
    return server


class Pushgateway:
    def __init__(self, process: ServerProcess, data_dir: Path) -> None:
        self.process = process
        self.url = process.url
        self.data_dir = data_dir

    def push(self, job: str, text: str, method: str = "PUT", **grouping: str) -> None:
        path = "/".join(f"{key}/{value}" for key, value in grouping.items())
        url = f"{self.url}/metrics/job/{job}" + (f"/{path}" if path else "")
        body = text if text.endswith("\n") else text + "\n"
        response = requests.request(method, url, data=body.encode(), timeout=5)
        response.raise_for_status()

    def metrics_text(self) -> str:
        response = requests.get(f"{self.url}/metrics", timeout=5)
        response.raise_for_status()
        return response.text

    def groups(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/api/v1/metrics", timeout=5)
        response.raise_for_status()
        return list(response.json()["data"])


class Alertmanager:
    def __init__(self, process: ServerProcess, config_path: Path) -> None:
        self.process = process
        self.url = process.url
        self.config_path = config_path

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        params = [("filter", f'{key}="{value}"') for key, value in filters.items()]
        response = requests.get(f"{self.url}/api/v2/alerts", params=params, timeout=5)
        response.raise_for_status()
        return list(response.json())

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = requests.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5)
        response.raise_for_status()


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


@dataclass
class Stack:
    """Factories for the real servers; everything started through it is stopped at teardown."""

    tmp: Path
    started: list[ServerProcess] = field(default_factory=list)

    def _dir(self, name: str) -> Path:
        path = self.tmp / f"{name}-{len(self.started)}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def track(self, server: ServerProcess) -> ServerProcess:
        self.started.append(server)
        return server

    def pushgateway(self, extra_args: Iterable[str] = (), data_dir: Path | None = None) -> Pushgateway:
        data_dir = data_dir or self._dir("pushgateway")
        port = free_port()
        argv = [
            binary("pushgateway"),
            f"--web.listen-address=127.0.0.1:{port}",
            f"--persistence.file={data_dir / 'pushgateway.data'}",
            "--persistence.interval=1s",
            *extra_args,
        ]
        process = start_server("pushgateway", argv, f"http://127.0.0.1:{port}", log_dir=data_dir)
        return Pushgateway(self.track(process), data_dir)

    def alertmanager(self, config: Mapping[str, Any] | str, extra_args: Iterable[str] = ()) -> Alertmanager:
        data_dir = self._dir("alertmanager")
        config_path = data_dir / "alertmanager.yml"
        config_path.write_text(config if isinstance(config, str) else yaml.safe_dump(dict(config)))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv = [
            binary("alertmanager"),
            f"--config.file={config_path}",
            f"--storage.path={data_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip listener on 0.0.0.0:9094
            f"--web.external-url={url}",
            *extra_args,
        ]
        return Alertmanager(
            self.track(start_server("alertmanager", argv, url, log_dir=data_dir)), config_path
        )

    def prometheus(
        self,
        targets: Sequence[str] = (),
        *,
        scrape_configs: Sequence[Mapping[str, Any]] = (),
        rule_files: Sequence[Path | str] = (),
        alertmanager_url: str | None = None,
        interval: str = "1s",
        honor_labels: bool = True,
        extra_args: Iterable[str] = (),
    ) -> Prometheus:
        """Prometheus scraping `targets` (host:port, job "test") and/or full `scrape_configs`."""
        data_dir = self._dir("prometheus")
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
        config_path = data_dir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
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
        return Prometheus(self.track(start_server("prometheus", argv, url, log_dir=data_dir)), config_path)

    def node_exporter(self, extra_args: Iterable[str] = ()) -> ServerProcess:
        data_dir = self._dir("node_exporter")
        port = free_port()
        argv = [binary("node_exporter"), f"--web.listen-address=127.0.0.1:{port}", *extra_args]
        return self.track(
            start_server(
                "node_exporter", argv, f"http://127.0.0.1:{port}", log_dir=data_dir, ready_path="/metrics"
            )
        )

    def process(
        self,
        name: str,
        argv: Sequence[str],
        url: str,
        ready_path: str,
        env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ServerProcess:
        """Any other server (our exporter, the bridge), stopped with the rest."""
        log_dir = self._dir(name)
        return self.track(
            start_server(name, argv, url, log_dir=log_dir, ready_path=ready_path, env=env, **kwargs)
        )

    def stop_all(self) -> None:
        for server in reversed(self.started):
            server.stop()
