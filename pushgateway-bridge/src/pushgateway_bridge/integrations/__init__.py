"""The sidecar's other outputs (`config/integrations.json`): each enabled entry is one more outbox sink.

`config.py` reads the file; one module per type builds that type's wire format (`webhook.py`,
`files.py`, `local_api.py`, `otlp.py`); `wiring.py` makes the sinks, their forwarder threads and the
outbox items of each accepted event. docs/integrations.md tells users the format and each type's output.
"""
