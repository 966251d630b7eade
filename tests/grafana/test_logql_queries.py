"""Every LogQL query (the dashboards' and the Loki alert rules') against Loki's documented rules for stream
selectors, pipelines, ranges and grouping, and against the stream labels the bridge writes."""

from __future__ import annotations

import re

import yaml

from generator import loki_rules
from grafana.dashboard_queries import ROOT, queries, stream_selectors

# LogQL: Loki is not installable here, so its queries are checked against Loki's documented rules.
LOKI_STREAM_LABELS = {"source", "kind", "level", "service", "app"}  # what the bridge writes (events.py)
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')


def check_stream_selector(selector: str) -> list[str]:
    """Loki's rules for a stream selector; returns what is wrong (empty when valid)."""
    problems = []
    body = selector.strip()[1:-1]
    matchers = [part for part in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', body) if part.strip()]
    if not matchers:
        return [f"{selector}: empty selector"]
    non_empty = False
    for matcher in matchers:
        match = MATCHER.match(matcher)
        if not match:
            problems.append(f"{selector}: bad matcher {matcher!r}")
            continue
        name, op, value = match.groups()
        if name not in LOKI_STREAM_LABELS:
            problems.append(f"{selector}: {name} is not a stream label of the bridge")
        try:
            regex = re.compile(value) if op in ("=~", "!~") else None
        except re.error as exc:
            problems.append(f"{selector}: bad regex {value!r}: {exc}")
            continue
        # Loki needs at least one matcher that does not match the empty string.
        matches_empty = regex.fullmatch("") is not None if regex else value == ""
        if op in ("=", "=~") and not matches_empty:
            non_empty = True
    if not non_empty:
        problems.append(f"{selector}: needs one matcher that does not match the empty value")
    return problems


def logql_queries() -> list[tuple[str, str]]:
    found = [(f"{q.dashboard}: {q.where}", q.substituted) for q in queries("loki")]
    rules = yaml.safe_load((ROOT / loki_rules.PATH).read_text())
    found += [(f"loki rule {r['alert']}", r["expr"]) for g in rules["groups"] for r in g["rules"]]
    return found


def test_the_stream_selector_check_rejects_what_loki_rejects() -> None:
    assert check_stream_selector('{source="scheduler", kind!="heartbeat"}') == []
    assert check_stream_selector('{source=~".+", level=~".+"}') == []
    assert check_stream_selector('{source=~".*"}')  # matches empty: Loki refuses the query
    assert check_stream_selector('{level!="error"}')
    assert check_stream_selector('{scheduler_id="x"}')  # not a stream label: would match nothing
    assert check_stream_selector("{source=scheduler}")
    assert check_stream_selector("{}")


def test_every_logql_query_selects_streams_the_bridge_writes() -> None:
    found = logql_queries()
    assert len(found) >= 8
    problems = []
    for where, logql in found:
        selectors = stream_selectors(logql)
        if not selectors:
            problems.append(f"{where}: no stream selector in {logql!r}")
        assert logql.count("(") == logql.count(")"), f"{where}: unbalanced parentheses in {logql!r}"
        for selector in selectors:
            problems += [f"{where}: {problem}" for problem in check_stream_selector(selector)]
        for stage in re.findall(r"\|\s*(\w+)", logql):
            if stage not in ("json", "logfmt", "line_format", "label_format", "unwrap", "drop", "keep"):
                # A label filter after a parser: `| name=~"..."`.
                assert LABEL_NAME.match(stage), f"{where}: bad pipeline stage {stage!r}"
    assert problems == []


def test_logql_metric_queries_use_valid_ranges_and_grouping() -> None:
    for where, logql in logql_queries():
        for rng in re.findall(r"\[([^\]]+)\]", logql):
            assert re.fullmatch(r"\d+[smhd]", rng), f"{where}: range {rng!r}"
        for labels in re.findall(r"\bby\s*\(([^)]*)\)", logql):
            for label in labels.split(","):
                assert label.strip() in LOKI_STREAM_LABELS, (
                    f"{where}: groups by {label.strip()!r}, not a stream label"
                )
