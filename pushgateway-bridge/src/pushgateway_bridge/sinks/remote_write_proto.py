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


class FlushEncoder:
    """WriteRequests of one sample per series, all at one timestamp: a flush's shape, and the bridge's hot
    path. Everything before a sample's value depends only on the series' labels (and the timestamp's
    encoded size, the same for centuries), so it is built once per series and kept."""

    def __init__(self) -> None:
        self.prefixes: dict[Labels, bytes] = {}
        self.stamp_size = 0
        self.pack = struct.Struct("<d").pack

    def encode(self, rows: Iterable[tuple[Labels, float]], timestamp_ms: int) -> bytes:
        if timestamp_ms < 0:
            raise ValueError("timestamps before 1970 are not written")
        stamp = _SAMPLE_TIMESTAMP + _varint(timestamp_ms)
        if len(stamp) != self.stamp_size:
            self.prefixes.clear()
            self.stamp_size = len(stamp)
        parts = []
        for labels, value in rows:
            prefix = self.prefixes.get(labels)
            if prefix is None:
                prefix = self.prefixes[labels] = self._prefix(labels)
            parts.append(prefix + self.pack(value) + stamp)
        return b"".join(parts)

    def _prefix(self, labels: Labels) -> bytes:
        sample_size = 1 + 8 + self.stamp_size  # the value's tag and 8 bytes, then the timestamp
        encoded = encode_labels(labels)
        body_size = len(encoded) + 1 + len(_varint(sample_size)) + sample_size
        head = bytes((_TIMESERIES,)) + _varint(body_size) + encoded
        return head + bytes((_SAMPLE,)) + _varint(sample_size) + _SAMPLE_VALUE

    def retain(self, series: Iterable[Labels]) -> None:
        """Forget the series not in `series` (no longer written)."""
        self.prefixes = {labels: self.prefixes[labels] for labels in series if labels in self.prefixes}


def encode(series: Sequence[TimeSeries]) -> bytes:
    """The uncompressed WriteRequest."""
    return b"".join(encode_series(encode_labels(s.labels), s.samples) for s in series)


def compress(message: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(message))


def decompress(body: bytes) -> bytes:
    return bytes(cramjam.snappy.decompress_raw(body))
