"""An OTLP/HTTP trace receiver for the tests: what a collector is to a service, reduced to what the
tests read.

A threaded HTTP server on 127.0.0.1 takes POST /v1/traces (or the path it is given) with an
`application/x-protobuf` body, gzip-compressed or not, as OTLP/HTTP exporters send it, decodes it
with the OpenTelemetry project's own message classes (`opentelemetry-proto`) and answers 200 with
an empty ExportTraceServiceResponse. Each span is kept as a plain record (`Span`): IDs as lowercase
hex, kind and status as names, attribute values as Python values. JSON bodies (OTLP/HTTP's other
encoding) are refused with 415: the services send protobuf. Every request is recorded, answered or
refused, so that a test can show what arrived where.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TypeAlias

import pytest
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as ProtoStatus

TRACES_PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"
# How long the tests wait for spans by default: the services export every 100 ms in the tests.
SPAN_TIMEOUT = 10.0
# The largest body taken (a service's batch of 512 spans is far smaller).
MAX_BODY = 32 << 20

AttributeValue: TypeAlias = (
    "str | bool | int | float | bytes | list[AttributeValue] | dict[str, AttributeValue] | None"
)
Attributes: TypeAlias = dict[str, AttributeValue]


@dataclass(frozen=True)
class Span:
    """One span as received: IDs in lowercase hex (parent_span_id "" for a root span), kind without
    its prefix ("SERVER", "CLIENT", "CONSUMER", ...), status "UNSET", "OK" or "ERROR", links as
    (trace_id, span_id), and the attributes of its resource and its instrumentation scope's name."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    attributes: Attributes
    status: str
    status_message: str
    links: list[tuple[str, str]]
    resource: Attributes
    scope: str
    start_unix_nano: int
    end_unix_nano: int

    def describe(self) -> str:
        parent = self.parent_span_id or "root"
        return f"{self.kind} {self.name!r} {self.trace_id}/{self.span_id} (parent {parent}) {self.attributes}"


@dataclass(frozen=True)
class Received:
    """One HTTP request the receiver was sent, and the status it answered."""

    method: str
    path: str
    content_type: str
    content_encoding: str
    status: int
    spans: int
    problem: str


def plain(value: AnyValue) -> AttributeValue:
    """An attribute's value as a Python value: arrays as lists, key-value lists as dicts."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [plain(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    found: AttributeValue = getattr(value, which)
    return found


def attributes(pairs: Iterable[KeyValue]) -> Attributes:
    return {kv.key: plain(kv.value) for kv in pairs}


def kind_name(kind: int) -> str:
    """SPAN_KIND_SERVER as SERVER."""
    return str(ProtoSpan.SpanKind.Name(kind)).removeprefix("SPAN_KIND_")


def status_name(code: int) -> str:
    """STATUS_CODE_ERROR as ERROR."""
    return str(ProtoStatus.StatusCode.Name(code)).removeprefix("STATUS_CODE_")


def spans_of(request: ExportTraceServiceRequest) -> list[Span]:
    """The spans of an export request, each with its resource's attributes."""
    found = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                found.append(
                    Span(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        name=s.name,
                        kind=kind_name(s.kind),
                        attributes=attributes(s.attributes),
                        status=status_name(s.status.code),
                        status_message=s.status.message,
                        links=[(link.trace_id.hex(), link.span_id.hex()) for link in s.links],
                        resource=resource,
                        scope=scope_spans.scope.name,
                        start_unix_nano=s.start_time_unix_nano,
                        end_unix_nano=s.end_time_unix_nano,
                    )
                )
    return found


class OTLPReceiver:
    """Receives OTLP/HTTP trace exports on 127.0.0.1 at a port of its own; a context manager.

    `endpoint` is what OTEL_EXPORTER_OTLP_ENDPOINT takes (the exporter adds /v1/traces), `url` the
    full URL OTEL_EXPORTER_OTLP_TRACES_ENDPOINT takes. Requests to any other path are answered 404
    and recorded."""

    def __init__(self, path: str = TRACES_PATH, port: int = 0) -> None:
        self.path = path
        self._spans: list[Span] = []
        self._received: list[Received] = []
        self._lock = threading.Lock()
        # Port 0 by default: the kernel gives a free port, and nothing can take it in between.
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        # A short poll interval: closing waits for the serving loop to see it.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.endpoint + self.path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OTLPReceiver:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- what arrived -----------------------------------------------------------------------------------

    def spans(self, predicate: Callable[[Span], bool] | None = None) -> list[Span]:
        """The spans received so far, in the order they arrived (those predicate accepts)."""
        with self._lock:
            found = list(self._spans)
        return found if predicate is None else [s for s in found if predicate(s)]

    def received(self) -> list[Received]:
        """Every request received so far, answered or refused."""
        with self._lock:
            return list(self._received)

    def problems(self) -> list[Received]:
        """The requests that were not answered 200."""
        return [r for r in self.received() if r.status != 200]

    def describe(self, limit: int = 40) -> str:
        """What arrived, for failure messages."""
        spans = self.spans()
        lines = [f"{len(spans)} span(s) received in {len(self.received())} request(s)"]
        lines += [f"  {s.describe()}" for s in spans[-limit:]]
        lines += [f"  refused: {r}" for r in self.problems()]
        return "\n".join(lines)

    def wait_for(
        self,
        predicate: Callable[[Span], bool],
        *,
        what: str,
        count: int = 1,
        timeout: float = SPAN_TIMEOUT,
    ) -> list[Span]:
        """Wait until at least count received spans match predicate, and return those that do; fail
        after timeout seconds, showing what arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.spans(predicate)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                pytest.fail(
                    f"timed out after {timeout}s waiting for {count} span(s): {what}\n{self.describe()}"
                )
            time.sleep(0.02)

    def wait_for_one(
        self, predicate: Callable[[Span], bool], *, what: str, timeout: float = SPAN_TIMEOUT
    ) -> Span:
        """The one span predicate accepts, once it has arrived; fail if more than one has."""
        found = self.wait_for(predicate, what=what, timeout=timeout)
        assert len(found) == 1, f"expected one span: {what}; got {len(found)}\n{self.describe()}"
        return found[0]

    # -- the HTTP side ----------------------------------------------------------------------------------

    def _record(self, received: Received, spans: list[Span]) -> None:
        with self._lock:
            self._received.append(received)
            self._spans.extend(spans)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as exporters use it

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
                path = self.path.split("?", 1)[0]
                try:
                    body = self._body()
                except ValueError as err:
                    self._refuse(path, content_type, encoding, 400, str(err))
                    return
                if path != receiver.path:
                    self._refuse(path, content_type, encoding, 404, f"not {receiver.path}")
                    return
                if content_type != PROTOBUF:
                    self._refuse(path, content_type, encoding, 415, f"{content_type!r} is not {PROTOBUF}")
                    return
                if encoding == "gzip":
                    try:
                        body = gzip.decompress(body)
                    except (OSError, EOFError, zlib.error) as err:
                        self._refuse(path, content_type, encoding, 400, f"gzip: {err}")
                        return
                elif encoding != "identity":
                    self._refuse(path, content_type, encoding, 415, f"Content-Encoding {encoding!r}")
                    return
                request = ExportTraceServiceRequest()
                try:
                    request.ParseFromString(body)
                except DecodeError as err:
                    self._refuse(
                        path, content_type, encoding, 400, f"not an ExportTraceServiceRequest: {err}"
                    )
                    return
                spans = spans_of(request)
                receiver._record(Received("POST", path, content_type, encoding, 200, len(spans), ""), spans)
                self._answer(200, ExportTraceServiceResponse().SerializeToString(), PROTOBUF)

            def do_GET(self) -> None:
                self._refuse(self.path, "", "", 405, "only POST")

            do_PUT = do_DELETE = do_HEAD = do_GET

            def _body(self) -> bytes:
                if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                    chunks = []
                    total = 0
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        total += size
                        if total > MAX_BODY:
                            raise ValueError("body too large")
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or "0")
                if length > MAX_BODY:
                    raise ValueError("body too large")
                return self.rfile.read(length)

            def _refuse(self, path: str, content_type: str, encoding: str, status: int, problem: str) -> None:
                receiver._record(Received(self.command, path, content_type, encoding, status, 0, problem), [])
                self._answer(status, problem.encode(), "text/plain; charset=utf-8")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

        return Handler
