"""Strict stand-ins of the services, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.slack import SlackFake
from fakes.teams import TeamsFake
from fakes.twilio import TwilioFake
from fakes.webhook import WebhookReceiver


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    with SlackFake() as fake:
        yield fake


@pytest.fixture
def teams() -> Iterator[TeamsFake]:
    with TeamsFake() as fake:
        yield fake


@pytest.fixture
def twilio() -> Iterator[TwilioFake]:
    with TwilioFake() as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret="s3cret") as fake:
        yield fake
