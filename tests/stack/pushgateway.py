"""The real Pushgateway: started with persistence in its own data directory, and a small client for it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from stack.processes import ServerProcess, binary, free_port, start_server


def start_pushgateway(data_dir: Path, extra_args: Iterable[str] = ()) -> ServerProcess:
    port = free_port()
    argv = [
        binary("pushgateway"),
        f"--web.listen-address=127.0.0.1:{port}",
        f"--persistence.file={data_dir / 'pushgateway.data'}",
        "--persistence.interval=1s",
        *extra_args,
    ]
    return start_server("pushgateway", argv, f"http://127.0.0.1:{port}", log_dir=data_dir)


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
