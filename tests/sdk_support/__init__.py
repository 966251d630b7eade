"""Strict local stand-ins for the bridge's event API, an OTLP/HTTP traces endpoint and the seed APIs.

They reject anything the real servers would reject (wrong content type, unknown or mistyped fields) with a
4xx naming the field, and record what they accepted, so SDK tests assert on exactly what was sent.
"""

from sdk_support.api_receiver import ApiReceiver
from sdk_support.event_receiver import EventReceiver
from sdk_support.event_schema import Invalid, validate_event
from sdk_support.http_receiver import Forced, Receiver, Reply, forced_reply
from sdk_support.otlp_receiver import OtlpReceiver

__all__ = [
    "ApiReceiver",
    "EventReceiver",
    "Forced",
    "Invalid",
    "OtlpReceiver",
    "Receiver",
    "Reply",
    "forced_reply",
    "validate_event",
]
