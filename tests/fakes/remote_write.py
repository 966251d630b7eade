"""A strict remote-write 1.0 receiver: decodes snappy + protobuf with the `protobuf` package (not the
bridge's hand-written encoder), answers 400 to what the specification forbids, as Prometheus does, and
keeps every accepted sample.

Checked (Remote-Write 1.0 specification): POST; Content-Type application/x-protobuf; Content-Encoding
snappy (block format); X-Prometheus-Remote-Write-Version 0.1.0; each series has `__name__`, label names
matching [a-zA-Z_][a-zA-Z0-9_]*, no empty value, no name twice, sorted by name; at least one sample, in
timestamp order; a sample older than the series' last one is out of order (Prometheus answers 400).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # type: ignore[import-untyped]

from fakes.http import Answer, FakeHttpServer, Refuse, Request

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
STALE_NAN_BITS = 0x7FF0000000000002


def _write_request_class() -> Any:
    """prometheus.WriteRequest as prompb's remote.proto and types.proto declare it (the fields used)."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="fake_prompb.proto", package="prometheus", syntax="proto3"
    )
    f = descriptor_pb2.FieldDescriptorProto
    repeated, optional = f.LABEL_REPEATED, f.LABEL_OPTIONAL

    def message(name: str, *fields: tuple[str, int, int, int, str]) -> None:
        proto.message_type.add(
            name=name,
            field=[
                f(name=n, number=number, label=label, type=kind, type_name=type_name or None)
                for n, number, label, kind, type_name in fields
            ],
        )

    message("Label", ("name", 1, optional, f.TYPE_STRING, ""), ("value", 2, optional, f.TYPE_STRING, ""))
    message("Sample", ("value", 1, optional, f.TYPE_DOUBLE, ""), ("timestamp", 2, optional, f.TYPE_INT64, ""))
    message(
        "TimeSeries",
        ("labels", 1, repeated, f.TYPE_MESSAGE, ".prometheus.Label"),
        ("samples", 2, repeated, f.TYPE_MESSAGE, ".prometheus.Sample"),
    )
    message("WriteRequest", ("timeseries", 1, repeated, f.TYPE_MESSAGE, ".prometheus.TimeSeries"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prometheus.WriteRequest"))


WriteRequest = _write_request_class()


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]  # __name__ included
    value: float
    timestamp_ms: int

    @property
    def stale(self) -> bool:
        return struct.pack("<d", self.value) == struct.pack("<Q", STALE_NAN_BITS)


def bad(reason: str) -> Refuse:
    return Refuse(Answer.text(400, reason + "\n"))


def decode(request: Request) -> list[Sample]:
    """The samples of a write request, or Refuse with the status Prometheus would answer."""
    if request.path != "/api/v1/write":
        raise Refuse(Answer.text(404, "not found\n"))
    if request.content_type != "application/x-protobuf":
        raise Refuse(Answer.text(415, "Content-Type must be application/x-protobuf\n"))
    if request.headers.get("content-encoding") != "snappy":
        raise bad("Content-Encoding must be snappy")
    if request.headers.get("x-prometheus-remote-write-version") != "0.1.0":
        raise bad("X-Prometheus-Remote-Write-Version must be 0.1.0")
    try:
        raw = bytes(cramjam.snappy.decompress_raw(request.body))
    except Exception:  # cramjam.DecompressionError
        raise bad("body is not snappy block format") from None
    message = WriteRequest()
    try:
        message.ParseFromString(raw)
    except Exception:  # google.protobuf.message.DecodeError
        raise bad("body is not a prometheus.WriteRequest") from None
    samples: list[Sample] = []
    for series in message.timeseries:
        labels = check_labels([(label.name, label.value) for label in series.labels])
        if not series.samples:
            raise bad(f"series without samples: {labels}")
        timestamps = [sample.timestamp for sample in series.samples]
        if timestamps != sorted(timestamps):
            raise bad(f"samples out of timestamp order: {labels}")
        samples.extend(Sample(labels, s.value, s.timestamp) for s in series.samples)
    return samples


def check_labels(pairs: list[tuple[str, str]]) -> dict[str, str]:
    names = [name for name, _value in pairs]
    labels = dict(pairs)
    if "__name__" not in labels:
        raise bad(f"series without __name__: {labels}")
    if len(labels) != len(names):
        raise bad(f"duplicate label name in {names}")
    if names != sorted(names):
        raise bad(f"labels not sorted: {names}")
    for name, value in labels.items():
        if not LABEL_NAME.match(name):
            raise bad(f"invalid label name {name!r}")
        if value == "":
            raise bad(f"empty value of label {name!r}")
    return labels


def key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


class RemoteWriteReceiver(FakeHttpServer):
    """POST /api/v1/write: a request is taken whole or refused whole; `latest()` is what a query sees."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[tuple[tuple[str, str], ...], Sample] = {}
        self.rejections: list[str] = []
        self.tenants: set[str | None] = set()  # X-Scope-OrgID of the requests taken

    def answer(self, request: Request) -> Answer:
        try:
            samples = decode(request)
            with self.lock:
                self.check_order(samples)
                self.tenants.add(request.headers.get("x-scope-orgid"))
                for sample in samples:
                    self.last[key(sample.labels)] = sample
                    self._accepted.append(sample)
        except Refuse as refusal:
            with self.lock:
                self.rejections.append(refusal.answer.body.decode())
            raise
        return Answer(204)

    def check_order(self, samples: list[Sample]) -> None:
        """Prometheus' TSDB: an older sample than the series' last is out of order, the same timestamp
        with another value a duplicate; both answered 400."""
        for sample in samples:
            last = self.last.get(key(sample.labels))
            if last is None:
                continue
            if sample.timestamp_ms < last.timestamp_ms:
                raise bad(f"out of order sample: {dict(sample.labels)}")
            same = struct.pack("<d", sample.value) == struct.pack("<d", last.value)
            if sample.timestamp_ms == last.timestamp_ms and not same:
                raise bad(f"duplicate sample for timestamp: {dict(sample.labels)}")

    @property
    def write_url(self) -> str:
        return self.url + "/api/v1/write"

    def latest(self) -> dict[tuple[tuple[str, str], ...], float]:
        """Each series' last value; a series whose last sample is a staleness marker is left out."""
        with self.lock:
            return {k: s.value for k, s in self.last.items() if not s.stale}
