"""Delivery in a second process: logs, and Pushgateway's requests.

Under load the bridge's one GIL is shared by intake (the event loop) and delivery (decoding outbox items,
encoding Loki pushes, Pushgateway's HTTP), so the rate it sustains is one over the sum of their costs.
With SQLite storage the log downstream's forwarder runs instead in a child process (`child.py`) that reads
and settles the outbox in the same file through its own connections (WAL lets them write in turn beside
the bridge's writer), and makes the Pushgateway requests the bridge's forwarder hands it, a step's pushes
in one call (`pushgateway.py`). The bridge keeps a stand-in (`process.py`) that wakes and calls it
(`pipes.py`), counts what it settles against the spool limit, applies its metrics and state, and starts
it again if it dies. Messages are JSON lines (`messages.py`); the same forwarder code runs either way.
"""
