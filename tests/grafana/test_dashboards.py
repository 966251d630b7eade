"""The rendered dashboards: valid, unique, wired to provisioned datasources, links that lead somewhere,
and threshold lines that are the alerts' thresholds from monitoring.yml."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from generator import dashboards as gen
from generator import loki_rules
from generator.source import Level, load_source
from grafana.dashboard_queries import DASHBOARD_DIR, ROOT, all_panels, dashboards, links

PROVISIONING = ROOT / "grafana" / "provisioning"
SOURCE = load_source(ROOT / "monitoring.yml")


def provisioned_datasources() -> dict[str, str]:
    config = yaml.safe_load((PROVISIONING / "datasources" / "datasources.yml").read_text())
    return {ds["uid"]: ds["type"] for ds in config["datasources"]}


def runbook_anchors() -> set[str]:
    """GitHub's anchors for the headings of docs/runbooks.md."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", (ROOT / "docs" / "runbooks.md").read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings}


def test_the_committed_dashboards_are_exactly_the_generated_ones() -> None:
    rendered = gen.render(SOURCE)
    assert sorted(Path(path).name for path in rendered) == sorted(
        p.name for p in DASHBOARD_DIR.glob("*.json")
    )
    for path, text in rendered.items():
        assert (ROOT / path).read_text() == text, f"{path} differs from a fresh render: run `make rules`"
    assert gen.render(SOURCE) == rendered, "two renders of the same source differ"


def test_every_dashboard_is_json_with_a_unique_uid_title_and_panel_ids() -> None:
    found = dashboards()
    assert len(found) == len(gen.DASHBOARDS) == 7
    uids = [dashboard["uid"] for dashboard in found.values()]
    assert len(set(uids)) == len(uids)
    assert len({dashboard["title"] for dashboard in found.values()}) == len(found)
    for name, dashboard in found.items():
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", dashboard["uid"]), name
        assert dashboard["schemaVersion"] >= 36, name
        panels = list(all_panels(dashboard["panels"]))
        ids = [panel["id"] for panel in panels]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        assert all(panel["title"] for panel in panels), f"{name}: untitled panel"
        for panel in panels:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, f"{name}: {panel['title']} is wider than the grid"
        refs = [[t["refId"] for t in panel.get("targets", [])] for panel in panels]
        assert all(len(r) == len(set(r)) for r in refs), f"{name}: duplicate refIds in a panel"


def test_every_datasource_reference_is_provisioned_with_the_same_type() -> None:
    provisioned = provisioned_datasources()
    assert {"prometheus", "loki", "tempo", "alertmanager"} <= set(provisioned)
    seen = set()

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            ref = node.get("datasource")
            if isinstance(ref, dict):
                assert ref["uid"] in provisioned, f"{where}: datasource uid {ref['uid']!r} is not provisioned"
                assert ref["type"] == provisioned[ref["uid"]], f"{where}: {ref} has the wrong type"
                seen.add(ref["uid"])
            elif ref is not None:
                pytest.fail(f"{where}: datasource {ref!r} is not a {{type, uid}} reference")
            for value in node.values():
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for name, dashboard in dashboards().items():
        walk(dashboard, name)
        for panel in all_panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                assert target.get("datasource"), f"{name}: {panel['title']}: a query without a datasource"
    assert seen == {"prometheus", "loki"}


def test_alertmanager_datasource_uses_the_prometheus_implementation() -> None:
    config = yaml.safe_load((PROVISIONING / "datasources" / "datasources.yml").read_text())
    alertmanager = next(ds for ds in config["datasources"] if ds["uid"] == "alertmanager")
    assert alertmanager["jsonData"]["implementation"] == "prometheus"
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "dashboards.yml").read_text())["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_every_link_leads_to_a_dashboard_or_a_runbook_section() -> None:
    uids = {dashboard["uid"] for dashboard in dashboards().values()}
    anchors = runbook_anchors()
    base = SOURCE.runbook_base_url
    counted = {"dashboard": 0, "runbook": 0}
    for name, dashboard in dashboards().items():
        for where, url in links(dashboard):
            if url.startswith("/d/"):
                uid = urlsplit(url).path.split("/")[2]
                assert uid in uids, f"{name}: {where}: link to unknown dashboard {uid!r}"
                variables = re.findall(r"var-(\w+)=", url)
                target = next(d for d in dashboards().values() if d["uid"] == uid)
                names = {var["name"] for var in target["templating"]["list"]}
                assert set(variables) <= names, f"{name}: {where}: {url} sets variables {uid} lacks"
                counted["dashboard"] += 1
            elif url.startswith(base + "#"):
                anchor = url.removeprefix(base + "#")
                if anchor == "${__data.fields.runbook}":  # the firing-alerts table: anchors from the rules
                    continue
                assert anchor in anchors, f"{name}: {where}: no section #{anchor} in docs/runbooks.md"
                counted["runbook"] += 1
            else:
                pytest.fail(f"{name}: {where}: link {url!r} is neither a dashboard nor a runbook")
    assert counted["dashboard"] >= 20 and counted["runbook"] >= 20, counted


def test_every_dashboard_links_to_every_other_dashboard() -> None:
    found = dashboards()
    for name, dashboard in found.items():
        targets = {link["url"].split("/")[2] for link in dashboard["links"]}
        assert targets == {d["uid"] for d in found.values()} - {dashboard["uid"]}, name


def test_runbook_join_names_every_alert_of_the_rendered_rules() -> None:
    rules = [yaml.safe_load(path.read_text()) for path in (ROOT / "rules").glob("*.rules.yml")]
    alerts = {
        rule["alert"] for f in rules for group in f["groups"] for rule in group["rules"] if "alert" in rule
    }
    table = next(
        panel
        for panel in all_panels(dashboards()["alerts-and-events.json"]["panels"])
        if panel["title"] == "Firing alerts"
    )
    expr = table["targets"][0]["expr"]
    joined = set(re.findall(r'"alertname", "(\w+)"', expr))
    assert joined == alerts
    assert all(name.lower() in runbook_anchors() for name in joined)


def _panel(source: Any, stem: str, title: str) -> dict[str, Any]:
    dashboard = gen.render_dashboard(source, stem)
    return next(panel for panel in all_panels(dashboard["panels"]) if panel["title"] == title)


def _steps(thresholds: dict[str, Any]) -> list[tuple[str, float | None]]:
    return [(step["color"], step["value"]) for step in thresholds["steps"]]


def test_threshold_lines_are_the_alert_levels_of_monitoring_yml() -> None:
    cpu = _panel(SOURCE, "hosts", "CPU busy")["fieldConfig"]["defaults"]
    assert cpu["custom"]["thresholdsStyle"]["mode"] == "line"
    assert _steps(cpu["thresholds"]) == [("green", None), ("orange", 80)]
    disk = _panel(SOURCE, "hosts", "Filesystem used")["fieldConfig"]["defaults"]["thresholds"]
    assert _steps(disk) == [("green", None), ("orange", 90), ("red", 97)]


def test_a_changed_level_in_the_source_moves_the_line() -> None:
    hosts = SOURCE.hosts
    levels = [Level.model_validate({"severity": "critical", "above": 55, "for": "1m"})]
    thresholds = hosts.thresholds.model_copy(update={"cpu_percent": levels})
    source = SOURCE.model_copy(update={"hosts": hosts.model_copy(update={"thresholds": thresholds})})
    cpu = _panel(source, "hosts", "CPU busy")["fieldConfig"]["defaults"]["thresholds"]
    assert _steps(cpu) == [("green", None), ("red", 55)]


def test_host_groups_override_the_lines_of_their_hosts_only() -> None:
    panel = _panel(SOURCE, "hosts", "CPU temperature")
    assert _steps(panel["fieldConfig"]["defaults"]["thresholds"]) == [("green", None), ("orange", 70)]
    [override] = panel["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byRegexp", "options": "^(?:pi-.*)(?: .*)?$"}
    assert _steps(override["properties"][0]["value"]) == [("green", None), ("orange", 75), ("red", 80)]
    pattern = re.compile(override["matcher"]["options"])
    assert pattern.match("pi-kitchen:9100") and not pattern.match("server-pi-1:9100")
    # No group overrides CPU: no per-host lines there.
    assert _panel(SOURCE, "hosts", "CPU busy")["fieldConfig"]["overrides"] == []
    host_group = next(
        v for v in dashboards()["hosts.json"]["templating"]["list"] if v["name"] == "host_group"
    )
    assert host_group["query"] == "raspberry-pis : pi-.*"


def test_ages_are_compared_with_the_source_limits() -> None:
    heartbeat = _panel(SOURCE, "schedulers", "Heartbeat age of running schedulers")
    assert _steps(heartbeat["fieldConfig"]["defaults"]["thresholds"]) == [("green", None), ("red", 600)]
    backlog = _panel(SOURCE, "bundle", "Oldest undelivered")
    assert _steps(backlog["fieldConfig"]["defaults"]["thresholds"]) == [("green", None), ("orange", 600)]


def test_a_template_that_renders_invalid_json_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hosts.json.j2").write_text('{"panels": [1,]}\n')
    monkeypatch.setattr(gen, "TEMPLATES", tmp_path)
    with pytest.raises(gen.DashboardError, match=r"hosts\.json\.j2 rendered invalid JSON at line 1"):
        gen.render_dashboard(SOURCE, "hosts")


def test_dashboard_files_end_with_a_newline_and_sorted_keys() -> None:
    for path in DASHBOARD_DIR.glob("*.json"):
        text = path.read_text()
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_loki_rule_runbook_links_lead_to_runbook_sections() -> None:
    rules = yaml.safe_load((ROOT / loki_rules.PATH).read_text())
    anchors = runbook_anchors()
    for rule in (rule for group in rules["groups"] for rule in group["rules"]):
        url = rule["annotations"]["runbook_url"]
        assert url == f"{SOURCE.runbook_base_url}#{rule['alert'].lower()}"
        assert rule["alert"].lower() in anchors, f"no section {rule['alert']} in docs/runbooks.md"
