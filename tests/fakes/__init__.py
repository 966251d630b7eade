"""Local stand-ins for the services the bundle talks to, each on a free loopback port, recording what it
accepted, thread-safe. Most are strict: each refuses what the real service refuses, with the status and
error the real service gives, so a test fails when the code sends what the service would not take (recorder
takes anything; seed_apis checks only that a body is JSON).

The notification channels' services: slack, teams, twilio, webhook (on http.py; context managers), smtp
(aiosmtpd); recorder: a lenient HTTP recorder for Alertmanager's receivers; loki: Loki's push API. The SDK's
peers (on restartable_http.py: `start()`/`stop()`, again on the same port): sidecar_api (the bridge's event
API, checked against event_schema), otlp (an OTLP/HTTP traces endpoint), seed_apis (the seed APIs the thin
clients call).
"""
