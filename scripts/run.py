"""`make run`: the bundle on loopback, for trying it out on one machine.

Starts Pushgateway, Alertmanager, the bridge, the host exporter, the blackbox exporter (probing the climate
services' endpoints the bridge lists) and Prometheus (loading the rendered rules),
each as its own process with its data under .run/, prints the URLs, a demo API key and the bridge's
anonymous scope, and stops everything by PID on Ctrl-C. The bridge listens on two ports: 8000, and 17000
where the sidecar SDK sends by default. Each port can be set with an environment variable
(BUNDLE_<NAME>_PORT, BUNDLE_SIDECAR_PORT for the bridge's second one); a busy default port is replaced by a
free one, and the URL printed is the one in use. BUNDLE_RUN_DIR moves .run/. BUNDLE_LOKI_URL and
BUNDLE_TEMPO_URL give the bridge a Loki and a Tempo to read logs and traces from (none runs here).
"""

from __future__ import annotations

import secrets
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generator renders Alertmanager's config; scripts.bundle_run has the parts

from scripts.bundle_run.configs import (  # noqa: E402
    ANONYMOUS_SCOPE,
    BLACKBOX_CONFIG,
    alertmanager_config,
    bridge_config_file,
    bridge_key_file,
    prometheus_config,
    query_backends,
)
from scripts.bundle_run.paths import API_RULES_FILE, BRIDGE_ALSO, DEFAULT_PORTS, RUN_DIR, port_for  # noqa: E402
from scripts.bundle_run.process import Service, executable, find_executable  # noqa: E402


def services(ports: dict[str, int], demo_key: str) -> list[Service]:
    """The bundle's processes in start order: downstreams first, Prometheus last."""
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    data = {name: RUN_DIR / name for name in ports if name not in BRIDGE_ALSO}
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
        bridge_yml = bridge_config_file(demo_key)
        bundle.append(
            Service(
                "bridge",
                [
                    bridge,
                    f"--web.listen-address=127.0.0.1:{ports['bridge']}",
                    *(f"--web.listen-address=127.0.0.1:{ports[name]}" for name in BRIDGE_ALSO),
                    f"--config={bridge_yml}",
                ],
                url["bridge"],
                "/health",
                env={
                    "BRIDGE_PUSHGATEWAY_URL": url["pushgateway"],
                    "BRIDGE_ALERTMANAGER_URL": url["alertmanager"],
                    "BRIDGE_DATA_DIR": str(data["bridge"]),
                    # Rendered by make rules from monitoring.yml: channels, templates, escalation.
                    "BRIDGE_NOTIFICATIONS_FILE": str(ROOT / "pushgateway-bridge" / "notifications.yml"),
                    # The alert API's rules: written here, loaded by the Prometheus below, reloaded.
                    "BRIDGE_PROMETHEUS_URL": url["prometheus"],
                    "BRIDGE_ALERT_RULES_FILE": str(API_RULES_FILE),
                    # Loki and Tempo for the log and trace API, when BUNDLE_LOKI_URL/BUNDLE_TEMPO_URL say.
                    **query_backends(),
                },
                also={name: url[name] for name in BRIDGE_ALSO},
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
            "blackbox",
            [
                executable("prometheus-blackbox-exporter", debian),
                f"--config.file={BLACKBOX_CONFIG}",
                f"--web.listen-address=127.0.0.1:{ports['blackbox']}",
            ],
            url["blackbox"],
            "/-/healthy",
        )
    )
    bundle.append(
        Service(
            "prometheus",
            [
                executable("prometheus", debian),
                f"--config.file={prometheus_config(ports, bridge is not None, bridge_key_file(demo_key))}",
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
        f"schedulers {', '.join(scope['schedulers']) or 'none'}, "
        f"notification users {', '.join(scope['users']) or 'none'}, {scope['rate_per_second']} requests/s."
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
