"""Start the real Prometheus stack on loopback for tests.

Every server gets a free 127.0.0.1 port and its own temporary data path, and is stopped by PID. Binaries
come from Debian's packages (`make test` installs them). With CI=true a missing binary is a failure, never a
skip: a green CI run must mean the real components were exercised.

processes: binaries, free ports, `wait_until`, a server process stopped by PID; prometheus, alertmanager,
pushgateway: how each is started and a small client for its API; factory: `Stack`, which starts them.
"""

from stack.alertmanager import Alertmanager
from stack.factory import Stack
from stack.processes import ServerProcess, binary, free_port, in_ci, start_server, wait_until
from stack.prometheus import Prometheus
from stack.pushgateway import Pushgateway

__all__ = [
    "Alertmanager",
    "Prometheus",
    "Pushgateway",
    "ServerProcess",
    "Stack",
    "binary",
    "free_port",
    "in_ci",
    "start_server",
    "wait_until",
]
