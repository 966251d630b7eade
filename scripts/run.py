"""`make run`: the bundle on loopback, for trying it out on one machine.

Starts Pushgateway, Alertmanager, the bridge, the host exporter and Prometheus (loading the rendered rules),
each as its own process with its data under .run/, prints the URLs, a demo API key and the bridge's
anonymous scope, and stops everything by PID on Ctrl-C. The bridge listens on two ports: 8000, and 17000
where the sidecar SDK sends by default. Each port can be set with an environment variable
(BUNDLE_<NAME>_PORT, BUNDLE_SIDECAR_PORT for the bridge's second one); a busy default port is replaced by a
free one, and the URL printed is the one in use. BUNDLE_RUN_DIR moves .run/.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generator renders Alertmanager's config for this run

from generator.alertmanager import REPO_TEMPLATES  # noqa: E402
from generator.alertmanager import render as render_alertmanager  # noqa: E402
from generator.source import load_source  # noqa: E402

RUN_DIR = Path(os.environ.get("BUNDLE_RUN_DIR", ROOT / ".run"))  # tests point it at a temporary dir
VENV_BIN = Path(sys.executable).parent

DEFAULT_PORTS = {
    "prometheus": 9090,
    "pushgateway": 9091,
    "alertmanager": 9093,
    "exporter": 9100,
    "bridge": 8000,
    "sidecar": 17000,  # the bridge again: the sidecar seed's snippet and the SDK send to localhost:17000
}
# What requests without a key may write: the sidecar seed's snippet sends none. Loopback only, a demo.
ANONYMOUS_SCOPE: dict[str, Any] = {"services": ["*"], "schedulers": [], "rate_per_second": 50}


def port_for(name: str) -> int:
    """The port from BUNDLE_<NAME>_PORT, else the default when free, else any free loopback port."""
    wanted = os.environ.get(f"BUNDLE_{name.upper()}_PORT")
    if wanted:
        return int(wanted)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", DEFAULT_PORTS[name]))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
                "rate_per_second": 100,
            }
        ],
        "anonymous": ANONYMOUS_SCOPE,
    }


def alertmanager_config(bridge_url: str, demo_key: str) -> Path:
    """Alertmanager's config rendered from monitoring.yml, with the Teams and SMS relays at this run's bridge
    (authenticated with the demo key). The committed alertmanager/alertmanager.yml points at the bridge by
    its docker-compose name.
    """
    key_file = RUN_DIR / "bridge_api_key"
    key_file.write_text(demo_key)
    key_file.chmod(0o600)
    update = {"bridge_url": bridge_url, "bridge_api_key_file": str(key_file)}
    source = load_source(ROOT / "monitoring.yml").model_copy(update=update)
    config = render_alertmanager(source, REPO_TEMPLATES)
    path = RUN_DIR / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def prometheus_config(ports: dict[str, int], with_bridge: bool) -> Path:
    def job(name: str, port: int, **extra: Any) -> dict[str, Any]:
        return {"job_name": name, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}], **extra}

    config = {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": [str(path) for path in sorted((ROOT / "rules").glob("*.rules.yml"))],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{ports['alertmanager']}"]}]}]
        },
        "scrape_configs": [
            job("prometheus", ports["prometheus"]),
            job("node", ports["exporter"]),
            *([job("bridge", ports["bridge"])] if with_bridge else []),
            job("pushgateway", ports["pushgateway"], honor_labels=True),
            job("alertmanager", ports["alertmanager"]),
        ],
    }
    path = RUN_DIR / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def services(ports: dict[str, int], demo_key: str) -> list[Service]:
    """The bundle's processes in start order: downstreams first, Prometheus last."""
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    data = {name: RUN_DIR / name for name in ports if name != "sidecar"}
    for path in data.values():
        path.mkdir(parents=True, exist_ok=True)
    debian = "make setup installs it"
    bundle = [
        Service(
            "pushgateway",
            [
                executable("prometheus-pushgateway", debian),
                f"--web.listen-address=127.0.0.1:{ports['pushgateway']}",
                f"--persistence.file={data['pushgateway'] / 'pushgateway.data'}",
                # The bridge keeps every metric's type and label keys the same across groups itself;
                # Pushgateway's own check re-reads every group on each push and caps throughput.
                "--push.disable-consistency-check",
            ],
            url["pushgateway"],
            "/-/ready",
        ),
        Service(
            "alertmanager",
            [
                executable("prometheus-alertmanager", debian),
                f"--config.file={alertmanager_config(url['bridge'], demo_key)}",
                f"--storage.path={data['alertmanager']}",
                f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                "--cluster.listen-address=",
                f"--web.external-url={url['alertmanager']}",
            ],
            url["alertmanager"],
            "/-/ready",
        ),
    ]
    bridge = find_executable("pushgateway-bridge")
    if bridge is None:
        print("make run: pushgateway-bridge is not installed in .venv; starting without it", file=sys.stderr)
    else:
        bridge_yml = RUN_DIR / "bridge.yml"
        bridge_yml.write_text(yaml.safe_dump(bridge_config(demo_key), sort_keys=False))
        bundle.append(
            Service(
                "bridge",
                [
                    bridge,
                    f"--web.listen-address=127.0.0.1:{ports['bridge']}",
                    f"--web.listen-address=127.0.0.1:{ports['sidecar']}",
                    f"--config={bridge_yml}",
                ],
                url["bridge"],
                "/health",
                env={
                    "BRIDGE_PUSHGATEWAY_URL": url["pushgateway"],
                    "BRIDGE_ALERTMANAGER_URL": url["alertmanager"],
                    "BRIDGE_DATA_DIR": str(data["bridge"]),
                },
                also={"sidecar": url["sidecar"]},
            )
        )
    bundle.append(
        Service(
            "exporter",
            [executable("host-exporter", debian), f"--web.listen-address=127.0.0.1:{ports['exporter']}"],
            url["exporter"],
            "/metrics",
        )
    )
    bundle.append(
        Service(
            "prometheus",
            [
                executable("prometheus", debian),
                f"--config.file={prometheus_config(ports, with_bridge=bridge is not None)}",
                f"--storage.tsdb.path={data['prometheus']}",
                f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                "--web.enable-lifecycle",
                f"--web.external-url={url['prometheus']}",
            ],
            url["prometheus"],
            "/-/ready",
        )
    )
    return bundle


def print_urls(started: list[Service]) -> None:
    urls = []
    for service in started:
        urls.append((service.name, service.url, ""))
        urls += [(name, url, f"  (the {service.name} again)") for name, url in service.also.items()]
    width = max(len(name) for name, _, _ in urls)
    print("The bundle is running on loopback (logs in .run/logs/):")
    for name, url, note in urls:
        print(f"  {name:<{width}}  {url}{note}")


def print_bridge_access(demo_key: str, sidecar_port: int) -> None:
    scope = ANONYMOUS_SCOPE
    print(f"\nDemo API key for the bridge (x-api-key or Authorization: Bearer): {demo_key}")
    print(
        "Without a key the bridge grants the anonymous scope: "
        f"services and sidecar apps {', '.join(scope['services']) or 'none'}, "
        f"schedulers {', '.join(scope['schedulers']) or 'none'}, {scope['rate_per_second']} requests/s."
    )
    default = DEFAULT_PORTS["sidecar"]
    if sidecar_port == default:
        print(f"So the sidecar SDK's SidecarEmitter(base_url='http://localhost:{default}') works as is.")
    else:
        print(
            f"The sidecar SDK sends to localhost:{default} by default; this run's bridge is on "
            f"{sidecar_port}, so: SidecarEmitter(base_url='http://localhost:{sidecar_port}') or SIDECAR_URL."
        )


def main() -> int:
    (RUN_DIR / "logs").mkdir(parents=True, exist_ok=True)
    ports = {name: port_for(name) for name in DEFAULT_PORTS}
    demo_key = secrets.token_urlsafe(24)
    started: list[Service] = []
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for service in services(ports, demo_key):
            service.start()
            started.append(service)
            service.wait_ready()
        print_urls(started)
        if any(service.name == "bridge" for service in started):
            print_bridge_access(demo_key, ports["sidecar"])
        print("Press Ctrl-C to stop everything.")
        while not stopping:
            for service in started:
                if service.popen is not None and service.popen.poll() is not None:
                    print(
                        f"make run: {service.name} exited; see .run/logs/{service.name}.log", file=sys.stderr
                    )
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        for service in reversed(started):
            service.stop()
        if started:
            print("Stopped.")


if __name__ == "__main__":
    sys.exit(main())
