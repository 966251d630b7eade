"""The monitoring.yml that live-stack tests render reads no clock, so they pass at any hour of any day."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from generator.alertmanager import REPO_TEMPLATES
from generator.alertmanager import render as render_alertmanager
from generator.prometheus_rules import build_all
from generator.source import Source
from generator.yamlout import dump
from rules.sources import live_source, source_with

# PromQL that reads the wall clock rather than an age: local time of day, weekday, date parts.
CLOCK = re.compile(
    r"%\s*86400|\b(?:day_of_week|day_of_month|day_of_year|days_in_month|hour|minute|month|year)\("
)
TIME_INTERVALS = ("mute_time_intervals", "active_time_intervals", "time_intervals")


def rendered_rules(source: Source) -> str:
    return "".join(dump(rule_file) for rule_file in build_all(source).values())


def routes(route: dict[str, object]) -> list[dict[str, object]]:
    children = route.get("routes") or []
    assert isinstance(children, list)
    return [route, *(child for sub in children for child in routes(sub))]


def test_the_committed_source_does_read_the_clock(tmp_path: Path) -> None:
    """The pattern below finds what it is meant to find (else the next test could not fail)."""
    source = source_with(tmp_path, lambda raw: None)
    assert CLOCK.search(rendered_rules(source))
    config = render_alertmanager(source, REPO_TEMPLATES)
    assert any(key in config for key in TIME_INTERVALS)
    assert any(route.get("mute_time_intervals") for route in routes(config["route"]))


def test_live_tests_render_rules_and_routes_without_the_clock(tmp_path: Path) -> None:
    source = live_source(tmp_path, lambda raw: None)
    rules = rendered_rules(source)
    assert "SchedulerHeartbeatMissing" in rules  # the clock-free alerts are all still there
    assert CLOCK.findall(rules) == []
    config = render_alertmanager(source, REPO_TEMPLATES)
    assert [key for key in TIME_INTERVALS if config.get(key)] == []
    assert [route for route in routes(config["route"]) if route.get("mute_time_intervals")] == []
    # The routes and receivers are the committed ones.
    committed = yaml.safe_load((Path(__file__).resolve().parents[2] / "monitoring.yml").read_text())
    configured = config["route"]["routes"][1]["routes"]  # after the bridge's (generator/alertmanager.py)
    assert len(configured) == len(committed["alertmanager"]["route"]["routes"])
