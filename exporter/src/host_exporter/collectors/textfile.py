"""Metrics from *.prom files in a directory, as node_exporter's textfile collector.

Cron jobs and scripts write these files (atomically: write to a temporary name, then rename).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from host_exporter.collectors.base import CollectorSpec
from host_exporter.family import GaugeFamily
from host_exporter.options import OPTIONAL_PATH, Option

log = logging.getLogger(__name__)

DIRECTORY = Option(
    flag="collector.textfile.directory",
    kind=OPTIONAL_PATH,
    default="",
    help="directory of *.prom files to expose",
)


class TextfileCollector:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def collect(self) -> Iterator[Metric]:
        if self.directory is None:
            return
        error = 0.0
        mtimes = GaugeFamily(
            "node_textfile_mtime_seconds", "Unixtime mtime of textfiles successfully read.", labels=["file"]
        )
        families: dict[str, Metric] = {}
        try:
            paths = sorted(self.directory.glob("*.prom"))
        except OSError as exc:
            log.error("textfile directory %s: %s", self.directory, exc)
            paths, error = [], 1.0
        for path in paths:
            try:
                text = path.read_text(encoding="utf-8")
                parsed = list(text_string_to_metric_families(text))
                mtime = path.stat().st_mtime
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                log.error("textfile %s: %s", path, exc)
                error = 1.0
                continue
            for family in parsed:
                merged = families.get(family.name)
                if merged is None:
                    families[family.name] = family
                elif merged.type != family.type:
                    log.error(
                        "textfile %s: %s has type %s, another file says %s",
                        path,
                        family.name,
                        family.type,
                        merged.type,
                    )
                    error = 1.0
                else:
                    merged.samples.extend(family.samples)
            mtimes.add_metric([str(path.name)], mtime)
        yield from families.values()
        if mtimes.series:
            yield mtimes
        yield GaugeFamily(
            "node_textfile_scrape_error",
            "1 if there was an error opening or reading a file, 0 otherwise",
            value=error,
        )


SPEC = CollectorSpec(
    name="textfile",
    description="Metrics from *.prom files in --collector.textfile.directory",
    build=lambda _paths, values: TextfileCollector(values[DIRECTORY]),
    options=(DIRECTORY,),
)
