"""Prometheus remote write 1.0: an entity's series with the labels a query sees through Pushgateway, and the
POST of one WriteRequest.

Through Pushgateway, Prometheus (scraping it with `honor_labels: true`) stores each pushed series with the
group's `job` and grouping labels and the series' own labels, an empty label left out; `instance` stays
empty (Pushgateway sets it to "" and the scrape keeps that, which drops it). Written here exactly so, rules
and dashboards do not change with the path. Pushgateway's own `push_time_seconds` and
`push_failure_time_seconds` have no counterpart: nothing is pushed.

Which answers are worth writing again follows the specification (a sender MUST retry on 5xx and 429, MUST
NOT on other 4xx), with the bridge's rule for credentials (sinks/base.py): 401 and 403 back off and count
as `auth`, as for every sink, because a person must fix them and every series would fail alike. The bridge
never sends a refused request again: the next flush is a new request with the state as it is then, so a
refused one loses no state. Only a 400 or 413, which can be about some series of the request, is `Refused`
in a way that halving the request can narrow down.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from pushgateway_bridge.domain.catalogue import SERIES_BY_KIND
from pushgateway_bridge.domain.kinds import State
from pushgateway_bridge.domain.state import grouping
from pushgateway_bridge.sinks.base import AUTH_STATUSES, SinkError, describe, transport_error
from pushgateway_bridge.sinks.remote_write_proto import (
    CONTENT_ENCODING,
    CONTENT_TYPE,
    VERSION,
    Labels,
    labels_of,
)

USER_AGENT = "pushgateway-bridge"
TOO_MANY_REQUESTS = 429
# Prometheus and Mimir answer 400 for bad samples (out of order, a bad label), per series; 413: too large.
BY_SERIES = frozenset({400, 413})


def entity_series(kind: str, state: State) -> Iterator[tuple[Labels, float]]:
    """Every series of the entity that has a value, labelled as through Pushgateway."""
    job, group = grouping(kind, state)
    common = {"job": job, **dict(group)}
    for series in SERIES_BY_KIND[kind]:
        for labels, value in series.samples(state):
            if value is not None:
                yield labels_of(series.name, {**common, **labels}), float(value)


def classify(status: int) -> tuple[bool, str]:
    """(permanent, kind) of a failed answer, by the rule above."""
    if status in AUTH_STATUSES:
        return False, "auth"
    if status >= 500 or status == TOO_MANY_REQUESTS:
        return False, f"http_{status}"
    return True, "rejected"


class Refused(SinkError):
    """A permanent refusal; `by_series`: a 400 or 413, which a smaller request may not get."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, permanent=True, kind="rejected")
        self.by_series = status in BY_SERIES


class RemoteWriteSink:
    def __init__(self, url: str, tenant: str | None, timeout: float) -> None:
        self.url = url
        parsed = httpx.URL(url)
        # What errors and logs name: without a user or password the URL may carry.
        self.where = str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url
        self.client = httpx.Client(timeout=timeout)
        self.headers = {
            "Content-Type": CONTENT_TYPE,
            "Content-Encoding": CONTENT_ENCODING,
            "X-Prometheus-Remote-Write-Version": VERSION,
            "User-Agent": USER_AGENT,
        }
        if tenant:
            self.headers["X-Scope-OrgID"] = tenant

    def write(self, body: bytes) -> None:
        """POST one snappy-compressed WriteRequest; SinkError on failure, permanent by the rule above."""
        try:
            response = self.client.post(self.url, content=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise transport_error(exc, f"POST {self.where}") from None
        if response.is_success:
            return
        permanent, kind = classify(response.status_code)
        message = describe(response, f"POST {self.where}")
        if permanent:
            raise Refused(message, response.status_code)
        raise SinkError(message, permanent=False, kind=kind)

    def close(self) -> None:
        self.client.close()
