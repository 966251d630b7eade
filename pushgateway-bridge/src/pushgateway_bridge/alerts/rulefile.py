"""The API alerts' rule file: written whole and atomically (Prometheus never reads half a file), and
checked with `promtool check rules` when promtool is installed, to answer a bad `expr` with its error."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PROMTOOL_TIMEOUT_SECONDS = 30


class RuleFileRejected(Exception):
    """promtool (or Prometheus) refused the rules; the message is its own."""


class RuleCheckUnavailable(Exception):
    """promtool could not be asked (it hung or failed to start): nothing is changed, the client retries."""


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` by `text`: a temporary file in the same directory, flushed, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # Prometheus may run as another user (compose's shared volume)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def check(text: str) -> None:
    """Raise RuleFileRejected with promtool's message when it refuses `text`; nothing without promtool."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return
    with tempfile.TemporaryDirectory() as directory:
        candidate = Path(directory) / "api.rules.yml"
        candidate.write_text(text, encoding="utf-8")
        try:
            result = subprocess.run(
                [promtool, "check", "rules", str(candidate)],
                capture_output=True,
                text=True,
                timeout=PROMTOOL_TIMEOUT_SECONDS,
                check=False,
            )
        except (subprocess.TimeoutExpired, OSError) as exc:
            raise RuleCheckUnavailable(f"promtool check rules: {exc}") from None
    if result.returncode != 0:
        output = (result.stderr + result.stdout).replace(str(candidate), "rule")
        raise RuleFileRejected(" ".join(output.split()))
