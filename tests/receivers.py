"""Moved to `fakes/` (the home of all test fakes); re-exported for the tests that import them from here."""

from __future__ import annotations

from fakes.recorder import HttpRecorder, Recorded, http_recorder
from fakes.smtp import Mail, SmtpRecorder, smtp_recorder

__all__ = ["HttpRecorder", "Mail", "Recorded", "SmtpRecorder", "http_recorder", "smtp_recorder"]
