"""The README's generated tables, rendered from the declarations: the collectors, and every flag and key.

exporter/README.md holds each table between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->`.
tests/exporter/test_readme.py fails while the README differs from a fresh render, and rewrites it when
run with UPDATE_README=1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from host_exporter.cli import all_options
from host_exporter.collectors.base import CollectorSpec
from host_exporter.options import Option


def _code(text: str) -> str:
    return f"`{text}`".replace("|", r"\|")  # a bare | would end the table cell, even inside backticks


def _setting(option: Option[Any]) -> str:
    return _code(f"--{option.flag}") if option.flag else _code(option.key)


def collectors_table(specs: Iterable[CollectorSpec]) -> str:
    rows = ["| collector | what it reports | default | its settings |", "| --- | --- | --- | --- |"]
    for spec in specs:
        state = "enabled" if spec.default else "disabled"
        settings = ", ".join(_setting(option) for option in spec.options)
        rows.append(f"| `{spec.name}` | {spec.description} | {state} | {settings} |")
    return "\n".join(rows) + "\n"


def options_table(options: Iterable[Option[Any]]) -> str:
    rows = ["| flag | config key | what it sets | default |", "| --- | --- | --- | --- |"]
    for option in options:
        flag = _code(f"--{option.flag}") if option.flag else "(config file only)"
        default = _code(str(option.default)) if option.default else "none"
        rows.append(f"| {flag} | {_code(option.key)} | {option.help} | {default} |")
    return "\n".join(rows) + "\n"


def sections(specs: Sequence[CollectorSpec]) -> dict[str, str]:
    """Each generated table of the README by its name."""
    return {"collectors": collectors_table(specs), "flags": options_table(all_options(specs))}


def render(readme: str, tables: Mapping[str, str]) -> str:
    """`readme` with each generated table replaced by `tables[name]`."""
    for name, table in tables.items():
        begin, end = f"<!-- generated: {name} -->\n", f"<!-- end generated: {name} -->"
        start = readme.find(begin)
        stop = readme.find(end, start)
        if start < 0 or stop < 0:
            raise ValueError(f"the README has no {begin.strip()} ... {end} section")
        readme = readme[: start + len(begin)] + table + readme[stop:]
    return readme
