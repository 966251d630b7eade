"""Notification channels: one small module per wire format (email, Slack, Teams, SMS, signed webhooks).

Each channel has `name`, `send(message, address)` and `close()`, and raises `TransportError` (base.py),
which says whether sending again can help. They are synchronous: they run in the forwarder's threads.
"""
