"""Log delivery in a second process.

Under load the bridge's one GIL is shared by intake (the event loop) and Loki delivery (decoding outbox
items, encoding pushes), so the rate it sustains is one over the sum of both costs per event. With SQLite
storage the log downstream's forwarder runs instead in a child process (`child.py`) that reads and
settles the outbox in the same file through its own connections (WAL lets them write in turn beside the
bridge's writer); the bridge keeps a stand-in (`process.py`) that wakes it, counts what it settles
against the spool limit, applies its metrics and state, and starts it again if it dies. The pipe between
them carries one JSON line a message (`messages.py`). The same forwarder code runs in both.
"""
