"""API keys: hashed in the config, scoped by glob patterns, rate-limited per key with a token bucket."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from pushgateway_bridge.settings import Scope, Settings


class AuthError(Exception):
    """Refusal with an HTTP status (401, 403, 429) and a message naming the problem."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


@dataclass
class TokenBucket:
    rate: float
    capacity: float
    tokens: float
    updated: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


@dataclass
class Principal:
    """Who is calling and what they may write."""

    name: str
    services: tuple[str, ...]
    schedulers: tuple[str, ...]
    bucket: TokenBucket | None
    unrestricted: bool = False
    notify: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    read: bool = False

    def require_read(self) -> None:
        """Metrics, logs, traces and alerts over the System Service's query API."""
        if not (self.unrestricted or self.read):
            raise AuthError(403, f"key '{self.name}' may not read monitoring data (its scope has no 'read')")

    def may_see_service(self, name: str | None) -> bool:
        """Reading something of service `name` (an alert, a history entry); one of no service concerns
        every service, so only a key whose globs cover every name (`*`) sees it, as only such a key may
        write it."""
        return self.may_write_service(name or "*")

    def readable_services_regex(self) -> str:
        """The key's service globs as one RE2 alternation, for a `service=~"..."` (or LogQL) matcher the
        bridge adds to every query it makes for this key. RE2 matches are anchored by Prometheus and Loki."""
        if self.unrestricted:
            return ".*"
        # "a^" matches nothing (not even the empty value of a series without the label).
        return "|".join(_glob_to_re2(pattern) for pattern in self.services) or "a^"

    def may_use_user(self, user_id: str) -> bool:
        return self.unrestricted or any(fnmatchcase(user_id, pattern) for pattern in self.users)

    def require_user(self, user_id: str) -> None:
        """Sending to a user, reading their history and preferences, listening on their socket."""
        if not self.may_use_user(user_id):
            raise AuthError(403, f"key '{self.name}' may not use the notifications of user '{user_id}'")

    def may_write_service(self, name: str) -> bool:
        return self.unrestricted or any(fnmatchcase(name, pattern) for pattern in self.services)

    def may_write_scheduler(self, scheduler_id: str) -> bool:
        return self.unrestricted or any(fnmatchcase(scheduler_id, pattern) for pattern in self.schedulers)

    def require_service(self, name: str, what: str = "service") -> None:
        if not self.may_write_service(name):
            raise AuthError(403, f"key '{self.name}' may not write {what} '{name}'")

    def require_scheduler(self, scheduler_id: str) -> None:
        if not self.may_write_scheduler(scheduler_id):
            raise AuthError(403, f"key '{self.name}' may not write scheduler '{scheduler_id}'")

    def require_notify(self, kind: str, target: str) -> None:
        """Relay targets are matched as `<kind>/<target>` (`sms/oncall`), as in the relay's path."""
        relay = f"{kind}/{target}"
        if not (self.unrestricted or any(fnmatchcase(relay, pattern) for pattern in self.notify)):
            raise AuthError(403, f"key '{self.name}' may not send to relay target '{relay}'")


def _glob_to_re2(pattern: str) -> str:
    """fnmatch's `*` and `?` as RE2; every other character literal (fnmatch.translate writes Python-only
    syntax such as `(?s:...)\\Z`). `[...]` classes are taken literally: service globs never use them."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char.isalnum() or char in "_-":
            parts.append(char)
        else:
            parts.append("\\" + char)
    return "".join(parts)


def _principal(name: str, scope: Scope) -> Principal:
    capacity = max(1.0, scope.rate_per_second)
    return Principal(
        name=name,
        services=tuple(scope.services),
        schedulers=tuple(scope.schedulers),
        bucket=TokenBucket(rate=scope.rate_per_second, capacity=capacity, tokens=capacity),
        notify=tuple(scope.notify),
        users=tuple(scope.users),
        read=scope.read,
    )


class Authenticator:
    """Maps a presented key (x-api-key or Authorization: Bearer) to a Principal, or refuses."""

    def __init__(self, settings: Settings) -> None:
        self.disabled = settings.auth_disabled
        self.by_digest = {entry.sha256: _principal(entry.name, entry) for entry in settings.api_keys}
        self.anonymous = _principal("anonymous", settings.anonymous) if settings.anonymous else None
        self.everyone = Principal("auth-disabled", (), (), None, unrestricted=True)
        # Presented key -> principal, so a known key is hashed once, not on every request. Only keys that
        # matched are kept: the dict is bounded by the configured keys' callers, never by guesses.
        self.known: dict[str, Principal] = {}

    def authenticate(self, x_api_key: str | None, authorization: str | None) -> Principal:
        if self.disabled:
            return self.everyone
        key = x_api_key
        if key is None and authorization:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                raise AuthError(401, "Authorization header must be 'Bearer <key>'")
            key = credentials.strip()
        if key is None:
            if self.anonymous is None:
                raise AuthError(401, "missing API key: send x-api-key or Authorization: Bearer")
            principal = self.anonymous
        else:
            found = self.known.get(key)
            if found is None:
                found = self.by_digest.get(hashlib.sha256(key.encode()).hexdigest())
                if found is None:
                    raise AuthError(401, "unknown API key")
                self.known[key] = found
            principal = found
        if principal.bucket is not None:
            wait = principal.bucket.take()
            if wait > 0:
                raise AuthError(
                    429,
                    f"rate limit of {principal.bucket.rate:g} requests/s exceeded for key '{principal.name}'",
                    retry_after=max(1, math.ceil(wait)),
                )
        return principal
