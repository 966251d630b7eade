"""The Prometheus remote-write 1.0 wire format: a `prometheus.WriteRequest` protobuf, snappy-compressed.

The schema is three small messages (prometheus/prompb types.proto and remote.proto):

    WriteRequest { repeated TimeSeries timeseries = 1; }
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }   // milliseconds since the epoch

Encoded here by hand (length-delimited fields and varints): a generated protobuf module would bring the
`protobuf` runtime and a build step to the bridge for four fields, and the strict receiver in
tests/fakes/remote_write.py decodes with the `protobuf` package, so the two are checked against each other
(and against the real Prometheus in tests/bridge/test_remote_write.py). The body is compressed with
snappy's block format (not the framed one), as the specification requires, by `cramjam`, which ships
wheels of the reference algorithm (python-snappy itself is a wrapper around it since 0.7).

Rules of the specification kept here: label names match [a-zA-Z_][a-zA-Z0-9_]*, no name twice, no empty
value (a label with an empty value is left out, as Prometheus does with a scraped one), sorted by name;
`__name__` present; samples of a series in timestamp order. A staleness marker is the NaN whose bits are
0x7ff0000000000002 (Prometheus' `value.StaleNaN`).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import cramjam

CONTENT_TYPE = "application/x-protobuf"
CONTENT_ENCODING = "snappy"
VERSION = "0.1.0"  # X-Prometheus-Remote-Write-Version of the 1.0 specification
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

Labels = tuple[tuple[str, str], ...]  # sorted by name, `__name__` included


def labels_of(name: str, labels: Mapping[str, str]) -> Labels:
    """The sorted label set of a series; empty values left out. ValueError for a name the format forbids."""
    if not METRIC_NAME.match(name):
        raise ValueError(f"invalid metric name {name!r}")
    for key in labels:
        if not LABEL_NAME.match(key) or key == "__name__":
            raise ValueError(f"invalid label name {key!r} on {name}")
    return tuple(sorted([("__name__", name), *((k, v) for k, v in labels.items() if v != "")]))


def is_stale(value: float) -> bool:
    return struct.pack("<d", value) == struct.pack("<Q", STALE_NAN_BITS)


@dataclass(frozen=True)
class TimeSeries:
    labels: Labels
    samples: tuple[tuple[float, int], ...]  # (value, timestamp in ms), oldest first


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _delimited(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _varint(len(payload)) + payload


# Tags: (field number << 3) | wire type; 2 = length-delimited, 1 = 64-bit, 0 = varint.
_TIMESERIES, _LABEL, _SAMPLE, _NAME, _VALUE = 0x0A, 0x0A, 0x12, 0x0A, 0x12
_SAMPLE_VALUE, _SAMPLE_TIMESTAMP = b"\x09", b"\x10"


def encode_labels(labels: Labels) -> bytes:
    """The labels of one TimeSeries, encoded (callers may keep them: a series' labels rarely change)."""
    parts = []
    for name, value in labels:
        body = _delimited(_NAME, name.encode()) + _delimited(_VALUE, value.encode())
        parts.append(_delimited(_LABEL, body))
    return b"".join(parts)


def encode_sample(value: float, timestamp_ms: int) -> bytes:
    if timestamp_ms < 0:
        raise ValueError("timestamps before 1970 are not written")
    body = _SAMPLE_VALUE + struct.pack("<d", value) + _SAMPLE_TIMESTAMP + _varint(timestamp_ms)
    return _delimited(_SAMPLE, body)


def encode_series(encoded_labels: bytes, samples: Iterable[tuple[float, int]]) -> bytes:
    body = encoded_labels + b"".join(encode_sample(value, ts) for value, ts in samples)
    return _delimited(_TIMESERIES, body)


def encode(series: Sequence[TimeSeries]) -> bytes:
    """The uncompressed WriteRequest."""
    return b"".join(encode_series(encode_labels(s.labels), s.samples) for s in series)


def compress(message: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(message))


def decompress(body: bytes) -> bytes:
    return bytes(cramjam.snappy.decompress_raw(body))
