"""One HTTP downstream the delivery process talks to (Pushgateway, Loki), on urllib3: the delivery process
does without httpx, about 6 MB of its memory (bench/README.md, eighth round)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import urllib3

from pushgateway_bridge.sinks.base import check_status, transport_error


class Endpoint:
    """Requests to the server at `url`, under its path; SinkError for no answer or a failed one."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url.rstrip("/"))
        self.prefix = parts.path  # a server under a path (Pushgateway's --web.route-prefix, a proxy's)
        # Credentials in the URL (http://user:password@host), sent as basic auth as httpx did.
        self.headers: dict[str, str] = {}
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.headers = dict(urllib3.make_headers(basic_auth=credentials))
        # retries=False: the forwarder retries, with backoff, and no redirect is followed; the pool still
        # replaces a connection the server closed while it was idle before using it.
        self.pool = urllib3.connection_from_url(
            f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}",
            timeout=urllib3.Timeout(timeout),
            retries=False,
            maxsize=1,
        )

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> str:
        """The answer's text, for a 2xx; raises SinkError (permanent or not, sinks/base.py) otherwise."""
        what = f"{method} {path}"
        try:
            response = self.pool.urlopen(
                method,
                self.prefix + path,
                body=body,
                headers={**self.headers, **(headers or {})},
                retries=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise transport_error(exc, what) from None
        text = response.data.decode(errors="replace")
        check_status(response.status, text, what)
        return text

    def close(self) -> None:
        self.pool.close()
