"""The host alerts' cases: CPU, memory, disks, temperature, the Pi's throttling and voltage, the exporter."""

from __future__ import annotations

from rules.alert_cases.case import DISK, Case, disk, series

HOST_CASES = [
    Case(
        "HostHighCpu fires when a host is 90% busy for longer than 10m",
        "HostHighCpu",
        {series("node_cpu_seconds_total", job="node", instance="h1", cpu="0", mode="idle"): "0+6x40"},
        "20m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "h1"},
                "CPU busy on h1",
                "CPU of h1 has been 90.0% busy, above 80%, for 10m.",
            )
        ],
    ),
    Case(
        "HostHighCpu is still pending 5m into a busy spell",
        "HostHighCpu",
        {series("node_cpu_seconds_total", job="node", instance="h1", cpu="0", mode="idle"): "0+6x40"},
        "5m",
    ),
    Case(
        "HostHighCpu stays silent at 50% busy",
        "HostHighCpu",
        {series("node_cpu_seconds_total", job="node", instance="h1", cpu="0", mode="idle"): "0+30x40"},
        "20m",
    ),
    Case(
        "HostHighCpu on a Raspberry Pi carries its host group",
        "HostHighCpu",
        {series("node_cpu_seconds_total", job="node", instance="pi-1", cpu="0", mode="idle"): "0+6x40"},
        "20m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "pi-1", "host_group": "raspberry-pis"},
                "CPU busy on pi-1",
                "CPU of pi-1 has been 90.0% busy, above 80%, for 10m.",
            )
        ],
    ),
    Case(
        "HostHighMemory fires when 90% of memory is used for longer than 10m",
        "HostHighMemory",
        {
            series("node_memory_MemAvailable_bytes", job="node", instance="h1"): "100x30",
            series("node_memory_MemTotal_bytes", job="node", instance="h1"): "1000x30",
        },
        "20m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "h1"},
                "Memory almost used up on h1",
                "h1 uses 90.0% of its memory, above 80%, for 10m.",
            )
        ],
    ),
    Case(
        "HostHighMemory stays silent at half the memory used",
        "HostHighMemory",
        {
            series("node_memory_MemAvailable_bytes", job="node", instance="h1"): "500x30",
            series("node_memory_MemTotal_bytes", job="node", instance="h1"): "1000x30",
        },
        "20m",
    ),
    Case(
        "HostDiskAlmostFull fires as warning and critical at 97.8% of the space users can have",
        "HostDiskAlmostFull",
        disk(size=100, free=10, avail=2),  # used 90 of 92; 8 blocks reserved for root
        "10m",
        [
            (
                {"severity": "warning", **DISK},
                "Disk / almost full on h1",
                "/ (/dev/sda1) on h1 is 97.8% full, above 90%.",
            ),
            (
                {"severity": "critical", **DISK},
                "Disk / almost full on h1",
                "/ (/dev/sda1) on h1 is 97.8% full, above 97%.",
            ),
        ],
    ),
    Case(
        "HostDiskAlmostFull at 93.8% of the space users can have is only a warning",
        "HostDiskAlmostFull",
        disk(size=100, free=25, avail=5),  # used 75 of 80
        "10m",
        [
            (
                {"severity": "warning", **DISK},
                "Disk / almost full on h1",
                "/ (/dev/sda1) on h1 is 93.8% full, above 90%.",
            )
        ],
    ),
    Case(
        "HostDiskAlmostFull stays silent at 89.9% used, though only 9% of the disk is available",
        "HostDiskAlmostFull",
        disk(size=100, free=20, avail=9),  # used 80 of 89, as df's Use%; 1 - avail/size would say 91%
        "10m",
    ),
    Case(
        "HostDiskAlmostFull stays silent at half full",
        "HostDiskAlmostFull",
        disk(size=100, free=50, avail=45),
        "10m",
    ),
    Case(
        "HostDiskFillingUp fires when free space falls fast enough to run out within 24h",
        "HostDiskFillingUp",
        # 5 blocks reserved for root: 24.6 of the 95 users can have are left at 8h.
        disk(size=100, free="44-0.03x600", avail="39-0.03x600", samples=600),
        "8h",
        [
            (
                {"severity": "warning", **DISK},
                "Disk / on h1 fills up within 24h",
                "/ (/dev/sda1) on h1 has 25.9% free and, at the rate of the last 6h, will be full within 24h.",
            )
        ],
    ),
    Case(
        "HostDiskFillingUp stays silent when free space holds steady",
        "HostDiskFillingUp",
        disk(size=100, free=35, avail=30, samples=600),
        "8h",
    ),
    Case(
        "HostHighTemperature fires above 70 °C on a server",
        "HostHighTemperature",
        {series("node_thermal_zone_temp", job="node", instance="h1", type="x86_pkg_temp", zone="0"): "72x20"},
        "10m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "h1"},
                "CPU hot on h1",
                "CPU of h1 is at 72.0 °C, above 70 °C, for 5m.",
            )
        ],
    ),
    Case(
        "HostHighTemperature stays silent at 72 °C on a Raspberry Pi, whose group raises the level to 75 °C",
        "HostHighTemperature",
        {
            series(
                "node_thermal_zone_temp", job="node", instance="pi-1", type="cpu-thermal", zone="0"
            ): "72x20"
        },
        "10m",
    ),
    Case(
        "HostHighTemperature fires warning and critical at 85 °C on a Raspberry Pi",
        "HostHighTemperature",
        {
            series(
                "node_thermal_zone_temp", job="node", instance="pi-1", type="cpu-thermal", zone="0"
            ): "85x20"
        },
        "10m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "pi-1", "host_group": "raspberry-pis"},
                "CPU hot on pi-1",
                "CPU of pi-1 is at 85.0 °C, above 75 °C, for 5m.",
            ),
            (
                {"severity": "critical", "job": "node", "instance": "pi-1", "host_group": "raspberry-pis"},
                "CPU hot on pi-1",
                "CPU of pi-1 is at 85.0 °C, above 80 °C, for 2m.",
            ),
        ],
    ),
    Case(
        "HostThrottled fires when the Pi firmware reports throttling for 5m",
        "HostThrottled",
        {series("node_rpi_throttled", job="node", instance="pi-1"): "1x20"},
        "10m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "pi-1"},
                "pi-1 is throttled",
                "The Raspberry Pi firmware reports pi-1 as throttled (get_throttled bit 2) for 5m: it runs "
                "slower than it should.",
            )
        ],
    ),
    Case(
        "HostThrottled stays silent while the flag is clear",
        "HostThrottled",
        {series("node_rpi_throttled", job="node", instance="pi-1"): "0x20"},
        "10m",
    ),
    Case(
        "HostUnderVoltage fires critical when the Pi reports under-voltage",
        "HostUnderVoltage",
        {series("node_rpi_under_voltage", job="node", instance="pi-1"): "1x20"},
        "5m",
        [
            (
                {"severity": "critical", "job": "node", "instance": "pi-1"},
                "pi-1 is under-voltage",
                "The Raspberry Pi firmware reports under-voltage on pi-1 (get_throttled bit 0) for 1m: check "
                "the power supply; SD card corruption follows.",
            )
        ],
    ),
    Case(
        "HostUnderVoltage stays silent with a good power supply",
        "HostUnderVoltage",
        {series("node_rpi_under_voltage", job="node", instance="pi-1"): "0x20"},
        "5m",
    ),
    Case(
        "ExporterDown fires when a host exporter has not answered for 5m",
        "ExporterDown",
        {series("up", job="node", instance="h1"): "0x20"},
        "10m",
        [
            (
                {"severity": "critical", "job": "node", "instance": "h1"},
                "Exporter h1 is down",
                "Prometheus could not scrape node target h1 for 5m: the host is down or its exporter stopped.",
            )
        ],
    ),
    Case(
        "ExporterDown stays silent while the exporter answers",
        "ExporterDown",
        {series("up", job="node", instance="h1"): "1x20"},
        "10m",
    ),
    Case(
        "ExporterAbsent fires when Prometheus has no host exporter target at all",
        "ExporterAbsent",
        {series("up", job="other", instance="x"): "1x20"},
        "10m",
        [
            (
                {"severity": "warning"},
                "No host exporter targets",
                "Prometheus has no target in the jobs node for 5m: its scrape configuration lost them.",
            )
        ],
    ),
    Case(
        "ExporterAbsent stays silent with a host exporter target",
        "ExporterAbsent",
        {series("up", job="node", instance="h1"): "1x20"},
        "10m",
    ),
    Case(
        "CollectorFailing fires when a collector fails every scrape for 15m",
        "CollectorFailing",
        {series("node_scrape_collector_success", job="node", instance="h1", collector="hwmon"): "0x30"},
        "20m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "h1", "collector": "hwmon"},
                "Collector hwmon fails on h1",
                "The hwmon collector of h1 has failed every scrape for 15m; the exporter's log says why.",
            )
        ],
    ),
    Case(
        "CollectorFailing stays silent while collectors succeed",
        "CollectorFailing",
        {series("node_scrape_collector_success", job="node", instance="h1", collector="hwmon"): "1x30"},
        "20m",
    ),
]
