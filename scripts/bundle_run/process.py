"""One process of `make run`: started with its log under .run/logs/, waited for, stopped by PID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from scripts.bundle_run.paths import RUN_DIR

VENV_BIN = Path(sys.executable).parent


def executable(name: str, hint: str) -> str:
    found = find_executable(name)
    if found is None:
        raise SystemExit(f"make run: {name} not found ({hint})")
    return found


def find_executable(name: str) -> str | None:
    return shutil.which(name, path=str(VENV_BIN)) or shutil.which(name)


@dataclass
class Service:
    name: str
    argv: list[str]
    url: str
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    also: dict[str, str] = field(default_factory=dict)  # more addresses of the same process, by name
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (RUN_DIR / "logs" / f"{self.name}.log").open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = [self.url, *self.also.values()]
        while time.monotonic() < deadline:
            if self.popen is None or self.popen.poll() is not None:
                raise SystemExit(f"make run: {self.name} exited; see .run/logs/{self.name}.log")
            try:
                while waiting and requests.get(waiting[0] + self.ready_path, timeout=2).status_code == 200:
                    waiting.pop(0)
            except requests.RequestException:
                pass
            if not waiting:
                return
            time.sleep(0.2)
        raise SystemExit(
            f"make run: {self.name} not ready after {timeout:.0f}s; see .run/logs/{self.name}.log"
        )

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        os.kill(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
