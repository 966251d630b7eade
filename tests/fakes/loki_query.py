"""A strict stand-in for Loki's push and `query_range` APIs: takes pushes as `fakes/loki.py` checks them,
and answers `GET /loki/api/v1/query_range` by evaluating the LogQL it is sent over what it holds.

It reads the part of LogQL the bridge writes, as Loki reads it, and refuses the rest with Loki's 400:
a stream selector of `label op "string"` matchers (ops `=`, `!=`, `=~`, `!~`; regexes anchored) of which
one must not match the empty value, then a pipeline of line filters (`|=`, `!=`, `|~`, `!~`) and label
filter expressions (`| a="x" or (b=~"y" and c!~"z")`: string matchers joined by `and`, binding tighter,
and `or`, in parentheses or not; a label the entry lacks is the empty value). Strings are Go string
literals: double-quoted with Go's escapes (an escape Go refuses is a parse error) or back-quoted raw.
Parameters as Loki's documentation gives them: `query` required; `start`/`end` as nanoseconds, float
seconds or RFC 3339, `end` after `start`, at most `max_query_length` apart; `limit` a positive integer
up to `max_entries_limit_per_query`; `direction` forward or backward. With
`X-Loki-Response-Encoding-Flags: categorize-labels` the answer keeps structured metadata apart
(`[ts, line, {"structuredMetadata": {...}}]`, `encodingFlags`); without it metadata joins the stream
labels, as Loki 3 does.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fakes.http import Answer, FakeHttpServer, Request
from fakes.loki import Rejected, validate

MAX_QUERY_LENGTH_NS = 721 * 3600 * 10**9  # Loki's default max_query_length
MAX_ENTRIES = 5000  # Loki's default max_entries_limit_per_query
EMPTY_COMPATIBLE = (
    "queries require at least one regexp or equality matcher that does not have an empty-compatible "
    'value. For instance, app=~".*" does not meet this requirement, but app=~".+" will'
)
IDENT = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
}


class ParseError(Exception):
    pass


def go_string(text: str, position: int) -> tuple[str, int]:
    """The Go string literal at `position`: its value and the position after it (strconv.Unquote's rules)."""
    quote = text[position]
    if quote == "`":
        end = text.find("`", position + 1)
        if end < 0:
            raise ParseError("unterminated raw string")
        return text[position + 1 : end], end + 1
    if quote != '"':
        raise ParseError(f"expected a string at {position}")
    out: list[str] = []
    i = position + 1
    while True:
        if i >= len(text) or text[i] == "\n":
            raise ParseError("unterminated string")
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char != "\\":
            out.append(char)
            i += 1
            continue
        decoded, i = _escape(text, i)
        out.append(decoded)


def _escape(text: str, i: int) -> tuple[str, int]:
    """The escape at `i` (a backslash) in a double-quoted Go string: its value and the position after it."""
    code = text[i + 1 : i + 2]
    if code in SIMPLE_ESCAPES:
        return SIMPLE_ESCAPES[code], i + 2
    elif code in ("x", "u", "U"):
        size = {"x": 2, "u": 4, "U": 8}[code]
        digits = text[i + 2 : i + 2 + size]
        if len(digits) != size or not all(d in "0123456789abcdefABCDEF" for d in digits):
            raise ParseError(f"invalid \\{code} escape")
        value = int(digits, 16)
        if code != "x" and (0xD800 <= value <= 0xDFFF or value > 0x10FFFF):
            raise ParseError("escape is not a valid Unicode code point")
        return chr(value), i + 2 + size  # \x gives a byte; the bridge never writes one
    elif code and code in "01234567":
        digits = text[i + 1 : i + 4]
        if len(digits) != 3 or not all(d in "01234567" for d in digits) or int(digits, 8) > 255:
            raise ParseError("invalid octal escape")
        return chr(int(digits, 8)), i + 4
    else:
        raise ParseError(f"unknown escape sequence \\{code}")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        found = labels.get(self.name, "")
        if self.op == "=":
            return found == self.value
        if self.op == "!=":
            return found != self.value
        hit = re.fullmatch(self.value, found) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class Both:
    """`left and right` of a label filter expression."""

    left: Condition
    right: Condition

    def matches(self, labels: dict[str, str]) -> bool:
        return self.left.matches(labels) and self.right.matches(labels)


@dataclass(frozen=True)
class Either:
    """`left or right` of a label filter expression."""

    left: Condition
    right: Condition

    def matches(self, labels: dict[str, str]) -> bool:
        return self.left.matches(labels) or self.right.matches(labels)


Condition = Matcher | Both | Either


@dataclass(frozen=True)
class LineFilter:
    op: str
    value: str

    def matches(self, line: str) -> bool:
        found = self.value in line if self.op in ("|=", "!=") else re.search(self.value, line) is not None
        return found == (self.op in ("|=", "|~"))


@dataclass(frozen=True)
class Query:
    matchers: tuple[Matcher, ...]
    stages: tuple[LineFilter | Condition, ...]  # no stage changes the line or labels: order is moot

    def selects(self, labels: dict[str, str], line: str) -> bool:
        if not all(matcher.matches(labels) for matcher in self.matchers):
            return False
        return all(
            stage.matches(line) if isinstance(stage, LineFilter) else stage.matches(labels)
            for stage in self.stages
        )


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n":
        i += 1
    return i


def _matcher(text: str, i: int) -> tuple[Matcher, int]:
    """`label op "string"` at `i` (Loki's `matcher` rule: a stream matcher, or a string label filter)."""
    name = IDENT.match(text, i)
    if name is None:
        raise ParseError(f"syntax error: expected a label name at {i}")
    i = _skip(text, name.end())
    op = next((op for op in ("=~", "!~", "!=", "=") if text.startswith(op, i)), None)
    if op is None:
        raise ParseError(f"syntax error: expected a matcher operator at {i}")
    i = _skip(text, i + len(op))
    if i >= len(text) or text[i] not in '"`':
        raise ParseError(f"syntax error: expected a string at {i} (this stand-in reads string matchers only)")
    value, i = go_string(text, i)
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise ParseError(f"invalid regex {value!r}: {exc}") from None
    return Matcher(name.group(), op, value), i


def _keyword(text: str, i: int, word: str) -> bool:
    found = IDENT.match(text, i)
    return found is not None and found.group() == word


def _either(text: str, i: int) -> tuple[Condition, int]:
    """A label filter expression: `or` of `and`s of matchers or parenthesised expressions (Loki's
    `labelFilter` with `%left OR` below `%left AND`)."""
    left, i = _both(text, i)
    while _keyword(text, i := _skip(text, i), "or"):
        right, i = _both(text, _skip(text, i + 2))
        left = Either(left, right)
    return left, i


def _both(text: str, i: int) -> tuple[Condition, int]:
    left, i = _operand(text, i)
    while _keyword(text, i := _skip(text, i), "and"):
        right, i = _operand(text, _skip(text, i + 3))
        left = Both(left, right)
    return left, i


def _operand(text: str, i: int) -> tuple[Condition, int]:
    if text.startswith("(", i):
        inner, i = _either(text, _skip(text, i + 1))
        i = _skip(text, i)
        if not text.startswith(")", i):
            raise ParseError(f"syntax error: expected ) at {i}")
        return inner, i + 1
    return _matcher(text, i)


def parse(text: str) -> Query:
    i = _skip(text, 0)
    if i >= len(text) or text[i] != "{":
        raise ParseError("syntax error: a log query starts with a stream selector {...}")
    matchers: list[Matcher] = []
    i += 1
    while True:
        matcher, i = _matcher(text, _skip(text, i))
        matchers.append(matcher)
        i = _skip(text, i)
        if text.startswith("}", i):
            i += 1
            break
        if not text.startswith(",", i):
            raise ParseError(f"syntax error: expected , or }} at {i}")
        i += 1
    stages: list[LineFilter | Condition] = []
    while (i := _skip(text, i)) < len(text):
        op = next((op for op in ("|=", "!=", "|~", "!~") if text.startswith(op, i)), None)
        if op is not None:
            value, i = go_string(text, _skip(text, i + 2))
            stages.append(LineFilter(op, value))
            continue
        if not text.startswith("|", i):
            raise ParseError(
                f"syntax error: unexpected {text[i : i + 10]!r} "
                "(this stand-in reads line filters and label filter expressions only)"
            )
        # Loki also joins label filters with `,` or by juxtaposition, which the bridge does not write:
        # after the expression either comes the next stage or this loop refuses it.
        condition, i = _either(text, _skip(text, i + 1))
        stages.append(condition)
    if not any(m.op in ("=", "=~") and not m.matches({}) for m in matchers):
        raise ParseError(EMPTY_COMPATIBLE)
    return Query(tuple(matchers), tuple(stages))


def parse_time(text: str, param: str) -> int:
    if re.fullmatch(r"[0-9]+", text):
        return int(text)  # epoch values are nanoseconds
    if re.fullmatch(r"[0-9]+\.[0-9]+", text):
        return int(float(text) * 1e9)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(f'invalid parameter "{param}": cannot parse "{text}" to a valid timestamp') from None
    if moment.utcoffset() is None:
        raise Rejected(f'invalid parameter "{param}": cannot parse "{text}" to a valid timestamp')
    return int(moment.timestamp() * 1e9)


def plain(status: int, text: str) -> Answer:
    """A text answer with the bare `Content-Type: text/plain` these stand-ins send (tests check it)."""
    return Answer(status, text.encode(), {"Content-Type": "text/plain"})


class LokiQueryReceiver(FakeHttpServer):
    """`entries` holds what was pushed (or `add`ed); `queries` every query_range request's parameters and
    headers (names in lower case)."""

    methods = ("GET", "POST")

    def __init__(self, tenant: str | None = None) -> None:
        super().__init__()
        self.tenant = tenant  # when set, X-Scope-OrgID must be it (Loki with auth_enabled)
        self.entries: list[dict[str, Any]] = []
        self.queries: list[dict[str, Any]] = []
        self.fail_with: int | None = None

    def answer(self, request: Request) -> Answer:
        return self._push(request) if request.method == "POST" else self._query(request)

    def _query(self, request: Request) -> Answer:
        if request.path == "/ready":
            return plain(200, "ready\n")
        if request.path != "/loki/api/v1/query_range":
            return plain(404, "404 page not found\n")
        with self.lock:
            self.queries.append({"params": request.query, "headers": request.headers})
        if self.fail_with is not None:
            return plain(self.fail_with, "injected failure\n")
        if self.tenant is not None and request.headers.get("x-scope-orgid") != self.tenant:
            return plain(401, "no org id\n")
        try:
            return Answer.json(200, self.query_range(request.query, request.headers))
        except (Rejected, ParseError) as exc:
            return plain(400, f"{exc}\n")

    def _push(self, request: Request) -> Answer:
        if request.path != "/loki/api/v1/push":
            return plain(404, "404 page not found\n")
        try:
            pushed = validate(request.json(), time.time_ns())
        except (Rejected, ValueError) as exc:
            return plain(400, str(exc))
        with self.lock:
            self.entries.extend(pushed)
        return Answer(204)

    def add(
        self, labels: dict[str, str], ts_ns: int, line: str, metadata: dict[str, str] | None = None
    ) -> None:
        with self.lock:
            self.entries.append({"labels": labels, "ts": ts_ns, "line": line, "metadata": metadata or {}})

    def last_query(self) -> str:
        with self.lock:
            return str(self.queries[-1]["params"]["query"][0])

    def query_range(self, params: dict[str, list[str]], headers: dict[str, str]) -> dict[str, Any]:
        one = {name: values[-1] for name, values in params.items()}
        text = one.get("query", "")
        if not text.strip():
            raise ParseError("syntax error: unexpected $end")
        query = parse(text)
        now = time.time_ns()
        end = parse_time(one["end"], "end") if "end" in one else now
        start = parse_time(one["start"], "start") if "start" in one else end - 3600 * 10**9
        if end <= start:
            raise Rejected("end timestamp must not be before or equal to start time")
        if end - start > MAX_QUERY_LENGTH_NS:
            raise Rejected("the query time range exceeds the limit (query length: ..., limit: 30d1h)")
        limit_text = one.get("limit", "100")
        if not re.fullmatch(r"[0-9]+", limit_text) or int(limit_text) <= 0:
            raise Rejected("limit must be a positive value")
        limit = int(limit_text)
        if limit > MAX_ENTRIES:
            raise Rejected(
                f"max entries limit per query exceeded, limit > max_entries_limit ({limit} > {MAX_ENTRIES})"
            )
        direction = one.get("direction", "backward").lower()
        if direction not in ("forward", "backward"):
            raise Rejected(f"invalid direction '{one['direction']}'")
        categorize = "categorize-labels" in headers.get("x-loki-response-encoding-flags", "")
        with self.lock:
            held = list(self.entries)
        selected = [
            e
            for e in held
            if start <= e["ts"] < end and query.selects({**e["labels"], **e["metadata"]}, e["line"])
        ]
        selected.sort(key=lambda e: e["ts"], reverse=direction == "backward")
        selected = selected[:limit]
        streams: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        for e in selected:
            labels = dict(e["labels"]) if categorize else {**e["labels"], **e["metadata"]}
            value: list[Any] = [str(e["ts"]), e["line"]]
            if categorize:
                value.append({"structuredMetadata": e["metadata"]} if e["metadata"] else {})
            key = tuple(sorted(labels.items()))
            streams.setdefault(key, {"stream": labels, "values": []})["values"].append(value)
        data: dict[str, Any] = {"resultType": "streams", "result": list(streams.values()), "stats": {}}
        if categorize:
            data["encodingFlags"] = ["categorize-labels"]
        return {"status": "success", "data": data}
