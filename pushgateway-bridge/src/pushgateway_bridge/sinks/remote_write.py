"""Prometheus remote write 1.0: an entity's series with the labels a query sees through Pushgateway, and the
POST of one WriteRequest.

Through Pushgateway, Prometheus (scraping it with `honor_labels: true`) stores each pushed series with the
group's `job` and grouping labels and the series' own labels, an empty label left out; `instance` stays
empty (Pushgateway sets it to "" and the scrape keeps that, which drops it). Written here exactly so, rules
and dashboards do not change with the path. Pushgateway's own `push_time_seconds` and
`push_failure_time_seconds` have no counterpart: nothing is pushed.

Which answers are retried is the specification's rule, narrower than the other sinks' (sinks/base.py):
a sender MUST retry on 5xx and MUST NOT retry on 4xx other than 429. A refused request is dropped, which
loses no state: every flush writes every live entity again.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from pushgateway_bridge.domain.catalogue import SERIES_BY_KIND
from pushgateway_bridge.domain.kinds import State
from pushgateway_bridge.domain.state import grouping
from pushgateway_bridge.sinks.base import SinkError, describe, transport_error
from pushgateway_bridge.sinks.remote_write_proto import (
    CONTENT_ENCODING,
    CONTENT_TYPE,
    VERSION,
    Labels,
    labels_of,
)

USER_AGENT = "pushgateway-bridge"
TOO_MANY_REQUESTS = 429


def entity_series(kind: str, state: State) -> Iterator[tuple[Labels, float]]:
    """Every series of the entity that has a value, labelled as through Pushgateway."""
    job, group = grouping(kind, state)
    common = {"job": job, **dict(group)}
    for series in SERIES_BY_KIND[kind]:
        for labels, value in series.samples(state):
            if value is not None:
                yield labels_of(series.name, {**common, **labels}), float(value)


def classify(status: int) -> tuple[bool, str]:
    """(permanent, kind) of a failed answer, by the remote-write specification."""
    if status >= 500 or status == TOO_MANY_REQUESTS:
        return False, f"http_{status}"
    return True, "rejected"


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
        raise SinkError(describe(response, f"POST {self.where}"), permanent=permanent, kind=kind)

    def close(self) -> None:
        self.client.close()
