"""Where `make run` keeps its data, and which ports it uses."""

from __future__ import annotations

import os
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("BUNDLE_RUN_DIR", ROOT / ".run"))  # tests point it at a temporary dir
DEFAULT_PORTS = {
    "prometheus": 9090,
    "pushgateway": 9091,
    "alertmanager": 9093,
    "exporter": 9100,
    "blackbox": 9115,  # the blackbox exporter, probing the climate services' endpoints
    "bridge": 8000,
    "sidecar": 17000,  # the bridge again: the sidecar seed's snippet and the SDK send to localhost:17000
    "system": 8013,  # the bridge again: the System Service seed's port (notifications, its WebSocket)
}
# The bridge's extra addresses: same process, same APIs, the ports the seeds' clients already use.
BRIDGE_ALSO = ("sidecar", "system")
# The alerts made over the bridge's /api/alerts: the bridge writes this file, Prometheus loads it.
API_RULES_FILE = RUN_DIR / "bridge" / "api.rules.yml"


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
