"""The README's generated tables equal a fresh render of the collectors' specs and the options.

After a change to a spec or an option: `UPDATE_README=1 .venv/bin/pytest -q tests/exporter/test_readme.py`.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from host_exporter import readme
from host_exporter.registry import COLLECTORS

README = Path(__file__).resolve().parents[2] / "exporter" / "README.md"


def test_the_readme_tables_are_rendered_from_the_specs() -> None:
    current = README.read_text()
    fresh = readme.render(current, readme.sections(COLLECTORS))
    if os.environ.get("UPDATE_README"):
        README.write_text(fresh)
        current = fresh
    diff = "".join(difflib.unified_diff(current.splitlines(True), fresh.splitlines(True), "README", "render"))
    assert current == fresh, f"run UPDATE_README=1 .venv/bin/pytest -q {__file__}\n{diff}"
