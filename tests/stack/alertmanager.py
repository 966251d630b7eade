"""The real Alertmanager: started from a config (a mapping or YAML text) with no cluster listener, and a
small client for its v2 API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests
import yaml

from stack.processes import ServerProcess, binary, free_port, start_server


def start_alertmanager(
    data_dir: Path, config: Mapping[str, Any] | str, extra_args: Iterable[str] = ()
) -> tuple[ServerProcess, Path]:
    """The started process and the path of the config file it reads."""
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
    return start_server("alertmanager", argv, url, log_dir=data_dir), config_path


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
