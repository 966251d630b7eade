"""Which registered services' endpoints can be probed: the `endpoint` a climate service reported
(`POST /services/`), when it is an http(s) URL the blackbox exporter's `http` prober can fetch.

An endpoint that cannot be probed is left out with the reason, never an error: the report that carried
it was accepted long ago, and one odd endpoint must not cost every other service its probe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pushgateway_bridge.domain.kinds import ServiceState

PROBED_SCHEMES = ("http", "https")  # what the blackbox exporter's http_2xx module probes


@dataclass(frozen=True)
class Probed:
    service: str
    url: str


@dataclass(frozen=True)
class LeftOut:
    service: str
    reason: str  # says why without repeating the URL, which may hold a secret


def unprobeable(endpoint: str) -> str | None:
    """Why `endpoint` cannot be probed, or None when it can."""
    if any(char.isspace() for char in endpoint) or not endpoint.isprintable():
        return "the endpoint holds whitespace or control characters"
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        return f"the endpoint is not a valid URL ({exc})"
    if parts.scheme.lower() not in PROBED_SCHEMES:
        return f"scheme {parts.scheme or '(none)'!r} is not probed (only {', '.join(PROBED_SCHEMES)})"
    if not parts.hostname:
        return "the endpoint names no host"
    if parts.username is not None or parts.password is not None:
        # The URL becomes the `instance` label: anyone reading Prometheus would read the credentials.
        return "the endpoint carries credentials (user:password@), which would end up in a label"
    return None


def probe_targets(
    services: Mapping[str, ServiceState], readable: Callable[[str], bool]
) -> tuple[list[Probed], list[LeftOut]]:
    """The endpoints of the `readable` services, by service name; services without one are skipped."""
    probed: list[Probed] = []
    left_out: list[LeftOut] = []
    for name, state in sorted(services.items()):
        endpoint = state.get("endpoint") or ""
        if not endpoint or not readable(name):
            continue
        reason = unprobeable(endpoint)
        if reason is None:
            probed.append(Probed(name, endpoint))
        else:
            left_out.append(LeftOut(name, reason))
    return probed, left_out
