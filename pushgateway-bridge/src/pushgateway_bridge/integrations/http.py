"""The one way the HTTP integrations send: POST, and the bridge's one rule for the answer
(`sinks/base.py`: no answer, 401/403, 408, 425, 429 and 5xx but 501 are retried; other 4xx are dead
letters)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from pushgateway_bridge.sinks.base import check_response, transport_error


def origin(url: str) -> str:
    """Scheme, host and port only: what /ready and error messages show of a URL, since a webhook's path
    or query may carry a token, and its user part a password."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def post(
    client: httpx.Client, url: str, what: str, body: bytes, headers: Mapping[str, str]
) -> httpx.Response:
    try:
        response = client.post(url, content=body, headers=dict(headers))
    except httpx.HTTPError as exc:
        raise transport_error(exc, what) from None
    check_response(response, what)
    return response
