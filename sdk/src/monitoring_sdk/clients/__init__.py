"""Thin clients for the seeds' HTTP APIs, as the bridge serves them."""

from monitoring_sdk.clients.base import ApiError
from monitoring_sdk.clients.climate import ClimateClient
from monitoring_sdk.clients.scheduler import SchedulerClient

__all__ = ["ApiError", "ClimateClient", "SchedulerClient"]
