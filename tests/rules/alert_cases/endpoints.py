"""The endpoint probes' cases: a service's endpoint failing its blackbox probes, or answering slowly."""

from __future__ import annotations

from rules.alert_cases.case import Case, series

TARGET = {"job": "endpoints", "instance": "http://api.example.com/health", "service": "api"}


def probe(success: str, duration: str) -> dict[str, str]:
    return {
        series("probe_success", **TARGET): success,
        series("probe_duration_seconds", **TARGET): duration,
    }


ENDPOINT_CASES = [
    Case(
        "EndpointDown fires when every probe failed for 2m",
        "EndpointDown",
        probe("1 1 0x10", "0.1 0.1 5x10"),
        "5m",
        [
            (
                {"severity": "critical", **TARGET},
                "Endpoint of service api is down",
                "Every probe of http://api.example.com/health failed for 2m: no answer, or not a 2xx.",
            )
        ],
    ),
    Case(
        "EndpointDown stays silent when a probe succeeds within 2m",
        "EndpointDown",
        probe("0 0 1 0 0 1 0 0", "5 5 0.1 5 5 0.1 5 5"),
        "7m",
    ),
    Case(
        "EndpointSlow fires when every successful probe took over 2s for 10m",
        "EndpointSlow",
        probe("1x15", "3x15"),
        "12m",
        [
            (
                {"severity": "warning", **TARGET},
                "Endpoint of service api is slow",
                "http://api.example.com/health answers, but its last probe took 3s; every probe for 10m "
                "took over 2s.",
            )
        ],
    ),
    Case(
        "EndpointSlow stays silent for a failing probe, however long it took",
        "EndpointSlow",
        probe("0x15", "5x15"),
        "12m",
    ),
    Case(
        "EndpointSlow stays silent for a probe at 2s",
        "EndpointSlow",
        probe("1x15", "2x15"),
        "12m",
    ),
]
