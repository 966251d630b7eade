"""Finding the binaries, free ports, waiting on a condition, and starting a server process that is stopped
by PID. Binaries come from Debian's packages (`make test` installs them). With CI=true a missing binary is a
failure, never a skip: a green CI run must mean the real components were exercised.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

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
