"""`python -m generator [--source monitoring.yml] [--out DIR] [--check]`, run by `make rules`.

Renders every generated file from the source. With --check, writes nothing and exits 1 listing the files
that differ from a fresh render (CI runs this). Either way, a file in a generated folder that the render no
longer produces is named and makes the exit status 1: it is still loaded from its folder, so delete it.
A bad source exits 2 with one message naming the key, and leaves the rendered files untouched.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from generator.render import GENERATED, render_all, stale
from generator.source import SourceError, load_source

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make rules", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "monitoring.yml")
    parser.add_argument("--out", type=Path, default=ROOT, help="directory the rendered paths are under")
    parser.add_argument("--check", action="store_true", help="compare with the committed files only")
    args = parser.parse_args(argv)
    try:
        source = load_source(args.source)
    except SourceError as exc:
        print(f"make rules: {exc}", file=sys.stderr)
        return 2
    files = render_all(source, args.source.name)
    if args.check:
        return _check(files, args.out)
    for relative, text in files.items():
        path = args.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"rendered {relative}")
    return _report_stale(stale(files, _present(args.out)))


def _check(files: dict[str, str], out: Path) -> int:
    drifted = []
    for relative, text in files.items():
        path = out / relative
        current = path.read_text() if path.exists() else ""
        if current != text:
            drifted.append(relative)
            diff = difflib.unified_diff(
                current.splitlines(keepends=True), text.splitlines(keepends=True), relative, "fresh render"
            )
            sys.stderr.writelines(list(diff)[:40])
    if drifted:
        print(
            f"make rules --check: {len(drifted)} generated file(s) differ from monitoring.yml: "
            f"{', '.join(drifted)}. Run `make rules` and commit the result.",
            file=sys.stderr,
        )
    if _report_stale(stale(files, _present(out))) or drifted:
        return 1
    print(f"generated files match monitoring.yml ({len(files)} files)")
    return 0


def _present(out: Path) -> list[str]:
    """Every file now in the places `make rules` owns under `out`, relative to it."""
    found = []
    for place in GENERATED:
        path = out / place
        if path.is_dir():
            found += [file.relative_to(out).as_posix() for file in path.rglob("*") if file.is_file()]
        elif path.is_file():
            found.append(place)
    return found


def _report_stale(left_over: list[str]) -> int:
    if left_over:
        print(
            f"make rules: {len(left_over)} file(s) left over from an older render: {', '.join(left_over)}. "
            f"Nothing renders them any more, but their folder is still loaded: delete them "
            f"(`git rm {' '.join(left_over)}`).",
            file=sys.stderr,
        )
    return 1 if left_over else 0


if __name__ == "__main__":
    sys.exit(main())
