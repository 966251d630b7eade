"""Host rules: the percentages dashboards and alerts share, and the host alerts with per-group levels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.prometheus_rules.common import Rule, alert, group, one_of, record, selector
from generator.source import HostGroup, Level, Source, seconds

CPU = "instance:node_cpu_utilisation:rate5m"
MEMORY = "instance:node_memory_utilisation:ratio"
FILESYSTEM = "instance_mountpoint:node_filesystem_utilisation:ratio"
TEMPERATURE = "instance:node_cpu_temperature_celsius:max"

# What each threshold compares, how the alert is called and what its text says.
THRESHOLD_ALERTS: dict[str, dict[str, str]] = {
    "cpu_percent": {
        "alert": "HostHighCpu",
        "value": f"{CPU}{{SEL}} * 100",
        "summary": "CPU busy on {{ $labels.instance }}",
        "description": 'CPU of {{ $labels.instance }} has been {{ printf "%.1f" $value }}% busy, '
        "above {ABOVE}%, for {FOR}.",
    },
    "memory_percent": {
        "alert": "HostHighMemory",
        "value": f"{MEMORY}{{SEL}} * 100",
        "summary": "Memory almost used up on {{ $labels.instance }}",
        "description": '{{ $labels.instance }} uses {{ printf "%.1f" $value }}% of its memory, '
        "above {ABOVE}%, for {FOR}.",
    },
    "disk_percent": {
        "alert": "HostDiskAlmostFull",
        "value": f"{FILESYSTEM}{{SEL}} * 100",
        "summary": "Disk {{ $labels.mountpoint }} almost full on {{ $labels.instance }}",
        "description": "{{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.instance }} is "
        '{{ printf "%.1f" $value }}% full, above {ABOVE}%.',
    },
    "cpu_temperature_celsius": {
        "alert": "HostHighTemperature",
        "value": f"{TEMPERATURE}{{SEL}}",
        "summary": "CPU hot on {{ $labels.instance }}",
        "description": 'CPU of {{ $labels.instance }} is at {{ printf "%.1f" $value }} °C, '
        "above {ABOVE} °C, for {FOR}.",
    },
}


def _jobs(source: Source) -> str:
    return f'job=~"{one_of(source.hosts.exporter_jobs)}"'


def recording_rules(source: Source) -> list[Rule]:
    jobs = _jobs(source)
    return [
        record(
            CPU,
            "1 - avg without (cpu) (\n"
            "  sum without (mode) (\n"
            f'    rate(node_cpu_seconds_total{{{jobs}, mode=~"idle|iowait|steal"}}[5m])\n  )\n)',
        ),
        record(
            MEMORY,
            f"1 - node_memory_MemAvailable_bytes{{{jobs}}} / node_memory_MemTotal_bytes{{{jobs}}}",
        ),
        record(FILESYSTEM, _filesystem_used(f'{jobs}, fstype!=""')),
        record(
            TEMPERATURE,
            f"max by (job, instance) (node_thermal_zone_temp{{{jobs}}} or node_hwmon_temp_celsius{{{jobs}}})",
        ),
        record(
            "instance:node_network_receive_bytes_excluding_lo:rate5m",
            "sum without (device) (\n"
            f'  rate(node_network_receive_bytes_total{{{jobs}, device!="lo"}}[5m])\n)',
        ),
        record(
            "instance:node_network_transmit_bytes_excluding_lo:rate5m",
            "sum without (device) (\n"
            f'  rate(node_network_transmit_bytes_total{{{jobs}, device!="lo"}}[5m])\n)',
        ),
        record(
            "instance:node_load1_per_cpu:ratio",
            f"node_load1{{{jobs}}}\n"
            f'  / count without (cpu, mode) (node_cpu_seconds_total{{{jobs}, mode="idle"}})',
        ),
    ]


def _filesystem_used(matchers: str) -> str:
    """Used share of the space non-root users can have: `df`'s Use% and psutil's disk_usage().percent.

    The Pi seed's disk threshold was set on that meaning. Blocks reserved for root (free but not available)
    count neither as used nor as room left, so a full disk reads 100 % when users get "No space left".
    """
    size, free, avail = (f"node_filesystem_{name}_bytes{{{matchers}}}" for name in ("size", "free", "avail"))
    used = f"    {size}\n  - {free}\n"
    return f"(\n{used})\n/ (\n{used}  + {avail}\n  > 0\n)"


def _scopes(source: Source) -> Iterator[tuple[str, HostGroup | None]]:
    """(instance matchers, group) for each host group in order, then for hosts in no group.

    A host belongs to the first group whose regex matches, so each group excludes the groups before it.
    """
    groups = source.hosts.groups
    for index, host_group in enumerate(groups):
        earlier = [g.instance for g in groups[:index]]
        matchers = [f'instance=~"{host_group.instance}"']
        if earlier:
            matchers.append(f'instance!~"{one_of(earlier)}"')
        yield ", ".join(matchers), host_group
    yield (f'instance!~"{one_of([g.instance for g in groups])}"' if groups else ""), None


def _threshold_alerts(source: Source) -> list[Rule]:
    rules = []
    defaults = source.hosts.thresholds.named()
    for name, spec in THRESHOLD_ALERTS.items():
        for matchers, host_group in _scopes(source):
            overrides = host_group.thresholds.named() if host_group else {}
            levels: list[Level] = overrides.get(name, defaults[name])
            for level in levels:
                above = f"{level.above:g}"
                value = spec["value"].replace("{SEL}", selector(matchers))
                labels = {"host_group": host_group.name} if host_group else {}
                description = spec["description"].replace("{ABOVE}", above)
                rules.append(
                    alert(
                        source,
                        spec["alert"],
                        f"{value} > {above}",
                        for_=level.for_,
                        severity=level.severity,
                        summary=spec["summary"],
                        description=description.replace("{FOR}", level.for_),
                        labels=labels,
                    )
                )
    return rules


def _other_alerts(source: Source) -> list[Rule]:
    hosts = source.hosts
    jobs = _jobs(source)
    filling = hosts.disk_filling
    fs = f'{jobs}, fstype!=""'
    return [
        alert(
            source,
            "HostDiskFillingUp",
            f"(\n  (1 - {FILESYSTEM}) * 100 < {filling.below_free_percent:g}\n"
            f"and\n  predict_linear(node_filesystem_avail_bytes{{{fs}}}[{filling.window}], "
            f"{seconds(filling.horizon)}) < 0\n"
            f"and\n  node_filesystem_readonly{{{fs}}} == 0\n)",
            for_=filling.for_,
            severity=filling.severity,
            summary="Disk {{ $labels.mountpoint }} on {{ $labels.instance }} fills up within "
            + filling.horizon,
            description="{{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.instance }} has "
            '{{ printf "%.1f" $value }}% free and, at the rate of the last '
            f"{filling.window}, will be full within {filling.horizon}.",
        ),
        alert(
            source,
            "HostThrottled",
            f"node_rpi_throttled{{{jobs}}} == 1",
            for_=hosts.throttled.for_,
            severity=hosts.throttled.severity,
            summary="{{ $labels.instance }} is throttled",
            description="The Raspberry Pi firmware reports {{ $labels.instance }} as throttled "
            f"(get_throttled bit 2) for {hosts.throttled.for_}: it runs slower than it should.",
        ),
        alert(
            source,
            "HostUnderVoltage",
            f"node_rpi_under_voltage{{{jobs}}} == 1",
            for_=hosts.under_voltage.for_,
            severity=hosts.under_voltage.severity,
            summary="{{ $labels.instance }} is under-voltage",
            description="The Raspberry Pi firmware reports under-voltage on {{ $labels.instance }} "
            f"(get_throttled bit 0) for {hosts.under_voltage.for_}: check the power supply; "
            "SD card corruption follows.",
        ),
        alert(
            source,
            "ExporterDown",
            f"up{{{jobs}}} == 0",
            for_=hosts.exporter_down_for,
            severity="critical",
            summary="Exporter {{ $labels.instance }} is down",
            description="Prometheus could not scrape {{ $labels.job }} target {{ $labels.instance }} for "
            f"{hosts.exporter_down_for}: the host is down or its exporter stopped.",
        ),
        alert(
            source,
            "ExporterAbsent",
            f"absent(up{{{jobs}}})",
            for_=hosts.exporter_down_for,
            severity="warning",
            summary="No host exporter targets",
            description=f"Prometheus has no target in the jobs {', '.join(hosts.exporter_jobs)} for "
            f"{hosts.exporter_down_for}: its scrape configuration lost them.",
        ),
        alert(
            source,
            "CollectorFailing",
            f"node_scrape_collector_success{{{jobs}}} == 0",
            for_=hosts.collector_failing_for,
            severity="warning",
            summary="Collector {{ $labels.collector }} fails on {{ $labels.instance }}",
            description="The {{ $labels.collector }} collector of {{ $labels.instance }} has failed every "
            f"scrape for {hosts.collector_failing_for}; the exporter's log says why.",
        ),
    ]


def rule_file(source: Source) -> dict[str, Any]:
    return {
        "groups": [
            group("host.rules", recording_rules(source)),
            group("host.alerts", _threshold_alerts(source) + _other_alerts(source)),
        ]
    }
