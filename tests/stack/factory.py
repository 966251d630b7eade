"""`Stack`: the one object tests start real servers through (the `stack` fixture in tests/conftest.py); each
server gets its own directory under the test's tmp path, and all stop, by PID, at teardown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stack.alertmanager import Alertmanager, start_alertmanager
from stack.processes import ServerProcess, binary, free_port, start_server
from stack.prometheus import Prometheus, prometheus_config, start_prometheus
from stack.pushgateway import Pushgateway, start_pushgateway


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
        return Pushgateway(self.track(start_pushgateway(data_dir, extra_args)), data_dir)

    def alertmanager(self, config: Mapping[str, Any] | str, extra_args: Iterable[str] = ()) -> Alertmanager:
        process, config_path = start_alertmanager(self._dir("alertmanager"), config, extra_args)
        return Alertmanager(self.track(process), config_path)

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
        config = prometheus_config(
            targets,
            scrape_configs=scrape_configs,
            rule_files=rule_files,
            alertmanager_url=alertmanager_url,
            interval=interval,
            honor_labels=honor_labels,
        )
        process, config_path = start_prometheus(self._dir("prometheus"), config, extra_args)
        return Prometheus(self.track(process), config_path)

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
