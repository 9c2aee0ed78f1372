"""A receiver of OTLP/HTTP traces on loopback, for tests and benchmarks: what a collector does
with the first hop.

It decodes the protobuf requests that OpenTelemetry's real exporter sends (gzip or not)
with the protocol's own generated classes, and keeps each span in a plain form that
tests can compare exactly.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class SpanEvent:
    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedSpan:
    """A span as it arrived."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, Any]
    events: tuple[SpanEvent, ...]
    status_code: int
    service_name: str
    start_time_unix_nano: int
    children: list[ReceivedSpan] = field(default_factory=list, compare=False, repr=False)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind is None:
        return None
    return getattr(value, kind)


def _attributes(pairs: Iterator[KeyValue] | Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


class OtlpReceiver:
    """Spans POSTed to `endpoint` + `/v1/traces`, decoded."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                receiver._keep(request, self.path)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test output is not the place for a request log

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.paths: list[str] = []

    def _keep(self, request: ExportTraceServiceRequest, path: str) -> None:
        received = []
        for resource_spans in request.resource_spans:
            service = _attributes(resource_spans.resource.attributes).get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        ReceivedSpan(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            kind=span.kind,
                            attributes=_attributes(span.attributes),
                            events=tuple(
                                SpanEvent(e.name, _attributes(e.attributes)) for e in span.events
                            ),
                            status_code=span.status.code,
                            service_name=service,
                            start_time_unix_nano=span.start_time_unix_nano,
                        )
                    )
        with self._lock:
            self.requests += 1
            self.paths.append(path)
            self.spans.extend(received)

    def wait_for(
        self, condition: Callable[[list[ReceivedSpan]], bool], timeout_seconds: float = WAIT_SECONDS
    ) -> list[ReceivedSpan]:
        """The spans received, once `condition` holds of them (polled, with a deadline)."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            with self._lock:
                spans = list(self.spans)
            if condition(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"the spans never met the condition: {spans}")
            time.sleep(0.05)

    @contextmanager
    def serving(self) -> Iterator[OtlpReceiver]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()


def tree(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    """The roots of `spans` (those whose parent did not arrive), children linked in."""
    by_id = {s.span_id: s for s in spans}
    for span in spans:
        span.children.clear()
    roots = []
    for span in spans:
        parent = by_id.get(span.parent_span_id)
        if parent is None:
            roots.append(span)
        else:
            parent.children.append(span)
    return roots


def outline(span: ReceivedSpan, depth: int = 0) -> list[str]:
    """The tree under `span` as indented names, children in the order they started."""
    lines = ["  " * depth + span.name]
    for child in sorted(span.children, key=lambda c: c.start_time_unix_nano):
        lines += outline(child, depth + 1)
    return lines
