"""The tests' OTLP/HTTP receiver (tests/otlp.py): an export built with the OpenTelemetry project's own
message classes and posted over real HTTP, plain or gzip-compressed, is answered as a collector
answers it and decodes to the records the tracing tests read; what a service must not send is
refused and recorded; waiting for spans polls until a deadline."""

from __future__ import annotations

import gzip
import http.client
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from otlp import PROTOBUF, OTLPReceiver, Span

TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
OTHER_TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SERVER = bytes.fromhex("00f067aa0ba902b7")
CLIENT = bytes.fromhex("b7ad6b7169203331")
JOB = bytes.fromhex("53995c3f42cd8ad8")


def kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def export_request() -> ExportTraceServiceRequest:
    """A server span with a database call under it, and a job span in a trace of its own linked to
    the server span: every kind of attribute value among them."""
    server = ProtoSpan(
        trace_id=TRACE,
        span_id=SERVER,
        name="GET /v1/notes/{id}",
        kind=ProtoSpan.SPAN_KIND_SERVER,
        start_time_unix_nano=1_000,
        end_time_unix_nano=2_000,
        attributes=[
            kv("http.request.method", AnyValue(string_value="GET")),
            kv("http.response.status_code", AnyValue(int_value=503)),
            kv("sampled", AnyValue(bool_value=True)),
            kv("ratio", AnyValue(double_value=0.5)),
            kv("raw", AnyValue(bytes_value=b"\x00\x01")),
            kv(
                "list",
                AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue(string_value="x")])),
            ),
            kv("map", AnyValue(kvlist_value=KeyValueList(values=[kv("k", AnyValue(string_value="v"))]))),
            kv("empty", AnyValue()),
        ],
        status=Status(code=Status.STATUS_CODE_ERROR, message="unavailable"),
    )
    client = ProtoSpan(
        trace_id=TRACE,
        span_id=CLIENT,
        parent_span_id=SERVER,
        name="get_note",
        kind=ProtoSpan.SPAN_KIND_CLIENT,
        attributes=[kv("db.system.name", AnyValue(string_value="postgresql"))],
    )
    job = ProtoSpan(
        trace_id=OTHER_TRACE,
        span_id=JOB,
        name="note words",
        kind=ProtoSpan.SPAN_KIND_CONSUMER,
        links=[ProtoSpan.Link(trace_id=TRACE, span_id=SERVER)],
        status=Status(code=Status.STATUS_CODE_OK),
    )
    resource = Resource(
        attributes=[
            kv("service.name", AnyValue(string_value="my-service")),
            kv("service.version", AnyValue(string_value="1.2.3")),
        ]
    )
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=resource,
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name="net/http"), spans=[server]),
                    ScopeSpans(scope=InstrumentationScope(name="pgx"), spans=[client, job]),
                ],
            )
        ]
    )


RESOURCE = {"service.name": "my-service", "service.version": "1.2.3"}
EXPECTED = [
    Span(
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id="00f067aa0ba902b7",
        parent_span_id="",
        name="GET /v1/notes/{id}",
        kind="SERVER",
        attributes={
            "http.request.method": "GET",
            "http.response.status_code": 503,
            "sampled": True,
            "ratio": 0.5,
            "raw": b"\x00\x01",
            "list": [1, "x"],
            "map": {"k": "v"},
            "empty": None,
        },
        status="ERROR",
        status_message="unavailable",
        links=[],
        resource=RESOURCE,
        scope="net/http",
        start_unix_nano=1_000,
        end_unix_nano=2_000,
    ),
    Span(
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id="b7ad6b7169203331",
        parent_span_id="00f067aa0ba902b7",
        name="get_note",
        kind="CLIENT",
        attributes={"db.system.name": "postgresql"},
        status="UNSET",
        status_message="",
        links=[],
        resource=RESOURCE,
        scope="pgx",
        start_unix_nano=0,
        end_unix_nano=0,
    ),
    Span(
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="53995c3f42cd8ad8",
        parent_span_id="",
        name="note words",
        kind="CONSUMER",
        attributes={},
        status="OK",
        status_message="",
        links=[("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")],
        resource=RESOURCE,
        scope="pgx",
        start_unix_nano=0,
        end_unix_nano=0,
    ),
]


def post(
    receiver: OTLPReceiver, body: bytes, headers: dict[str, str], path: str | None = None
) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    try:
        conn.request("POST", path or receiver.path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type") or "", resp.read()
    finally:
        conn.close()


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as r:
        yield r


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_an_export_decodes_to_plain_records(receiver: OTLPReceiver, compressed: bool) -> None:
    body = export_request().SerializeToString()
    headers = {"Content-Type": PROTOBUF}
    if compressed:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"

    status, content_type, answer = post(receiver, body, headers)

    assert (status, content_type) == (200, PROTOBUF), answer
    response = ExportTraceServiceResponse()
    response.ParseFromString(answer)
    assert not response.HasField("partial_success")
    assert receiver.spans() == EXPECTED
    assert receiver.problems() == []
    (received,) = receiver.received()
    assert (received.path, received.content_encoding, received.spans) == (
        "/v1/traces",
        "gzip" if compressed else "identity",
        3,
    )


def test_endpoint_and_url_name_the_receiver(receiver: OTLPReceiver) -> None:
    assert receiver.endpoint == f"http://127.0.0.1:{receiver.port}"
    assert receiver.url == receiver.endpoint + "/v1/traces"
    with OTLPReceiver("/custom/v1/traces") as custom:
        assert custom.url.endswith("/custom/v1/traces")
        assert custom.port != receiver.port


@pytest.mark.parametrize(
    ("path", "content_type", "encoding", "body", "status"),
    [
        ("/v1/traces", "application/json", "identity", b'{"resourceSpans": []}', 415),
        ("/v1/metrics", PROTOBUF, "identity", b"", 404),
        ("/v1/traces", PROTOBUF, "br", b"", 415),
        ("/v1/traces", PROTOBUF, "gzip", b"not gzip", 400),
        ("/v1/traces", PROTOBUF, "identity", b"\xff\xff\xff", 400),
    ],
    ids=["json", "other-path", "other-encoding", "bad-gzip", "not-protobuf"],
)
def test_what_a_service_must_not_send_is_refused_and_recorded(
    receiver: OTLPReceiver, path: str, content_type: str, encoding: str, body: bytes, status: int
) -> None:
    answered, _, _ = post(receiver, body, {"Content-Type": content_type, "Content-Encoding": encoding}, path)
    assert answered == status
    assert receiver.spans() == []
    (problem,) = receiver.problems()
    assert (problem.path, problem.status) == (path, status)
    assert problem.problem


def test_waiting_polls_until_the_spans_arrive(receiver: OTLPReceiver) -> None:
    body = export_request().SerializeToString()
    later = threading.Timer(0.3, post, (receiver, body, {"Content-Type": PROTOBUF}))
    later.start()
    try:
        found = receiver.wait_for(lambda s: s.kind == "CLIENT", what="the database call", timeout=10)
    finally:
        later.join()
    assert [s.name for s in found] == ["get_note"]
    assert receiver.wait_for_one(lambda s: s.kind == "CONSUMER", what="the job").links == [
        (TRACE.hex(), SERVER.hex())
    ]


def test_waiting_fails_at_the_deadline_saying_what_arrived(receiver: OTLPReceiver) -> None:
    post(receiver, export_request().SerializeToString(), {"Content-Type": PROTOBUF})
    with pytest.raises(pytest.fail.Exception) as failed:
        receiver.wait_for(lambda s: s.kind == "PRODUCER", what="a producer span", timeout=0.2)
    message = str(failed.value)
    assert "a producer span" in message
    assert "3 span(s) received in 1 request(s)" in message
    assert "'get_note'" in message
