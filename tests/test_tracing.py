"""Tracing (tracing=otel), checked black-box: each combination is built once and run on loopback with
the tests' OTLP/HTTP receiver (tests/otlp.py) as its collector, configured as users configure it,
with OpenTelemetry's own environment variables; the tests read what arrives there, the service's
JSON log lines and its OpenMetrics exposition, and nothing of the implementation.

The combinations are those of the pairwise set that trace, and one with every dependency and the
example API, where PostgreSQL queries, Redis commands and a background job all happen within one
request. Every launch exports every 100 ms (OTEL_BSP_SCHEDULE_DELAY), so that a test waits for spans
a fraction of a second, except the one that proves that what the batch still holds at SIGTERM is
exported by the shutdown.
"""

from __future__ import annotations

import fcntl
import json
import re
import secrets
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from test_contract import refused_start_output

from conftest import listed_settings
from otlp import OTLPReceiver, Span
from service import Launcher, LogRecord, Response, Service, free_port, new_request_id, poll
from tooling.variants import SHAPE_QUESTIONS, defaults, pairwise_variants


def traces(answers: dict[str, Any]) -> bool:
    return bool(answers["tracing"] == "otel")


# The pairwise set holds combinations that trace: never none, or these tests would have nothing to
# run (an empty parameter set fails the collection too, pyproject.toml says so).
TRACED_PAIRWISE = [v for v in pairwise_variants() if traces(v)]
assert TRACED_PAIRWISE, "the pairwise set holds no combination with tracing=otel"

# Every dependency and the example API together: the only combinations where one request makes
# PostgreSQL queries and Redis commands, and queues a background job, so that database, cache and
# job spans are seen side by side under (or linked to) one server span. The pairwise set does not
# hold it (its combinations with all three dependencies lack the example API).
EVERY_DEPENDENCY = {name: defaults()[name] for name in SHAPE_QUESTIONS} | {
    "tracing": "otel",
    "database": "postgres",
    "cache": "redis",
    "background_worker": True,
    "example_api": True,
}

pytestmark = [pytest.mark.slow, pytest.mark.only_combinations(keep=traces, extra=[EVERY_DEPENDENCY])]

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
# A well-formed note ID (26 characters of upper-case base32) that no note has.
NO_SUCH_NOTE = "A" * 26
# What the probes are: they make no spans.
PROBES = ("/livez", "/readyz")
# The histogram whose buckets carry exemplars.
DURATION = "http_request_duration_seconds"
DURATION_BUCKET = f"{DURATION}_bucket"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


# -- fixtures and helpers ------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as r:
        yield r


def quiet_worker(project: Path) -> dict[str, str]:
    """The periodic job once an hour where there is a worker: every job span a test sees is one a
    request queued."""
    return {"WORKER_INTERVAL": "1h"} if "WORKER_INTERVAL" in listed_settings(project) else {}


def traced(receiver: OTLPReceiver, project: Path, **settings: str) -> dict[str, str]:
    """The settings of a launch that exports to receiver every 100 ms."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        **quiet_worker(project),
        **settings,
    }


@dataclass(frozen=True)
class Parent:
    """A caller's span, sent to the service in a W3C traceparent header."""

    trace_id: str
    span_id: str
    sampled: bool

    @classmethod
    def new(cls, *, sampled: bool = True) -> Parent:
        return cls(secrets.token_hex(16), secrets.token_hex(8), sampled)

    @property
    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


def headers(rid: str, parent: Parent | None = None) -> dict[str, str]:
    found = {"X-Request-ID": rid}
    if parent is not None:
        found["traceparent"] = parent.header
    return found


def expected_name(method: str, route: str) -> str:
    """A server span's name: the method and the route pattern as the metrics' route label has it, or
    the method alone when no route matched (the label says "unmatched")."""
    return method if route == "unmatched" else f"{method} {route}"


def server_span_of_trace(receiver: OTLPReceiver, trace_id: str) -> Span:
    return receiver.wait_for_one(
        lambda s: s.kind == "SERVER" and s.trace_id == trace_id, what=f"the server span of trace {trace_id}"
    )


def root_server_span(receiver: OTLPReceiver, method: str, path: str) -> Span:
    return receiver.wait_for_one(
        lambda s: (
            s.kind == "SERVER"
            and s.attributes.get("http.request.method") == method
            and s.attributes.get("url.path") == path
        ),
        what=f"the server span of {method} {path} (http.request.method and url.path)",
    )


def child(receiver: OTLPReceiver, parent: Span, name: str) -> Span:
    """The span named name in parent's trace, once it has arrived; it must be parent's child."""
    span = receiver.wait_for_one(
        lambda s: s.trace_id == parent.trace_id and s.name == name,
        what=f"a span {name!r} in the trace of {parent.name!r} ({parent.trace_id})",
    )
    assert span.parent_span_id == parent.span_id, (
        f"{name!r} must be a child of the server span {parent.span_id}: {span.describe()}\n"
        f"{receiver.describe()}"
    )
    return span


def stopped(svc: Service) -> None:
    """Stop the service gracefully: whatever its batch held is exported by then."""
    assert svc.stop() == 0, f"the service did not exit 0 on SIGTERM\n{svc.output()}"


def create_note(svc: Service, rid: str, parent: Parent | None = None) -> Response:
    resp = svc.post_json(
        "/v1/notes", {"title": "traced note", "body": "five words in all"}, headers=headers(rid, parent)
    )
    assert resp.status == 201, f"POST /v1/notes: {resp.describe()}"
    return resp


def records_of(svc: Service, rid: str) -> list[LogRecord]:
    """The log records of the request with this ID, its access record among them (once written)."""
    svc.wait_for_access(rid)
    return [r for r in svc.records() if r.get("request_id") == rid]


# -- spans of requests ---------------------------------------------------------------------------------


def test_each_request_is_one_server_span(
    launch: Launcher, receiver: OTLPReceiver, project: Path, answers: dict[str, Any]
) -> None:
    """Each API request, matched or not, is one root span of kind SERVER named after its method and
    route pattern (the method alone when no route matches), with the HTTP attributes and a status
    left UNSET below 500; probes make none. The resource names the service as OTEL_SERVICE_NAME
    says, with OTEL_RESOURCE_ATTRIBUTES' attributes and the build's version."""
    service_name = f"traced-{uuid.uuid4().hex[:8]}"
    svc = launch(
        **traced(receiver, project),
        OTEL_SERVICE_NAME=service_name,
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=test,team=tracing-tests",
    )
    sent: list[tuple[str, str, str, Response]] = []  # request ID, method, path, answer

    def send(method: str, path: str, body: Any = None) -> Response:
        rid = new_request_id("span")
        if body is None:
            resp = svc.request(method, path, headers=headers(rid))
        else:
            resp = svc.post_json(path, body, headers=headers(rid))
        sent.append((rid, method, path, resp))
        return resp

    version = send("GET", "/version")
    assert version.status == 200, version.describe()
    for probe in PROBES:
        assert svc.get(probe).status == 200
    missing = f"/nope-{uuid.uuid4().hex}"
    assert send("GET", missing).status == 404
    assert send("DELETE", "/version").status == 405
    if answers["example_api"]:
        created = send("POST", "/v1/notes", {"title": "a note", "body": "traced"})
        assert created.status == 201, created.describe()
        note_path = f"/v1/notes/{created.json()['id']}"
        assert send("GET", note_path).status == 200

    spans = []
    for rid, method, path, resp in sent:
        route = svc.wait_for_access(rid)["route"]
        span = root_server_span(receiver, method, path)
        spans.append(span)
        what = f"{method} {path} ({resp.status}, route label {route!r}): {span.describe()}"
        assert span.name == expected_name(method, route), what
        assert span.parent_span_id == "", f"a request without traceparent starts a trace: {what}"
        assert HEX32.match(span.trace_id), what
        assert HEX16.match(span.span_id), what
        assert span.attributes.get("url.scheme") == "http", what
        status = span.attributes.get("http.response.status_code")
        assert type(status) is int, f"http.response.status_code must be an integer: {what}"
        assert status == resp.status, what
        if route == "unmatched":
            assert "http.route" not in span.attributes, f"no route matched, so no http.route: {what}"
        else:
            assert span.attributes.get("http.route") == route, what
        assert span.status == "UNSET", f"an answer below 500 leaves the status unset: {what}"
        if path != route:
            assert path not in span.name, f"the raw path is in the name: {what}"
    assert len({s.trace_id for s in spans}) == len(spans), "each request must start a trace of its own"

    resource = spans[0].resource
    assert resource.get("service.name") == service_name, resource
    assert resource.get("deployment.environment.name") == "test", resource
    assert resource.get("team") == "tracing-tests", resource
    assert resource.get("service.version") == version.json()["version"], (
        f"service.version must be the build's version (GET /version): {resource}"
    )
    assert all(s.resource == resource for s in spans), "one resource for every span"

    stopped(svc)
    server = receiver.spans(lambda s: s.kind == "SERVER")
    assert len(server) == len(sent), f"one server span per request sent:\n{receiver.describe()}"
    probed = [
        s
        for s in receiver.spans()
        if s.attributes.get("url.path") in PROBES or any(p in s.name for p in PROBES)
    ]
    assert not probed, f"the probes made spans: {[s.describe() for s in probed]}"
    assert receiver.problems() == [], receiver.describe()


def test_trace_context_is_continued(launch: Launcher, receiver: OTLPReceiver, project: Path) -> None:
    """A request with a sampled traceparent gets a server span in the caller's trace, its parent the
    caller's span; one whose traceparent says not sampled is not exported (parent-based sampling,
    the default)."""
    svc = launch(**traced(receiver, project))
    sampled, unsampled = Parent.new(), Parent.new(sampled=False)
    assert svc.get("/version", headers=headers(new_request_id("sampled"), sampled)).status == 200
    assert svc.get("/version", headers=headers(new_request_id("unsampled"), unsampled)).status == 200

    span = server_span_of_trace(receiver, sampled.trace_id)
    assert span.parent_span_id == sampled.span_id, span.describe()
    assert span.span_id != sampled.span_id, f"the server span must be a span of its own: {span.describe()}"
    assert span.name == "GET /version", span.describe()
    stopped(svc)
    assert not receiver.spans(lambda s: s.trace_id == unsampled.trace_id), (
        f"a request whose caller did not sample it was exported:\n{receiver.describe()}"
    )


@pytest.mark.usefixtures("needs_example_api")
def test_a_5xx_answer_is_an_error_span(launch: Launcher, receiver: OTLPReceiver, project: Path) -> None:
    """A request answered 503 (the body budget is held by another request's body) has a server span
    with status ERROR."""
    svc = launch(**traced(receiver, project), MAX_BODY_BYTES="1024", BODY_BUDGET_BYTES="1024")
    holder = socket.create_connection(("127.0.0.1", svc.http_port), timeout=10)
    try:
        holder.sendall(
            b"POST /v1/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1024\r\n\r\n{"
        )
        poll(
            lambda: True if svc.metrics().value("http_body_budget_used_bytes") > 0 else None,
            timeout=5,
            what="the held body to take the budget (http_body_budget_used_bytes > 0)",
        )
        parent = Parent.new()
        rid = new_request_id("refused")
        resp = svc.post_json("/v1/notes", {"title": "refused", "body": "x"}, headers=headers(rid, parent))
        assert resp.status == 503, resp.describe()
    finally:
        holder.close()
    route = svc.wait_for_access(rid)["route"]
    span = server_span_of_trace(receiver, parent.trace_id)
    assert span.status == "ERROR", f"a 503 must set the status ERROR: {span.describe()}"
    assert span.attributes.get("http.response.status_code") == 503, span.describe()
    assert span.name == expected_name("POST", route), f"route label {route!r}: {span.describe()}"


# -- logs ------------------------------------------------------------------------------------------------


def test_log_lines_of_a_traced_request_carry_its_ids(
    launch: Launcher, receiver: OTLPReceiver, project: Path, answers: dict[str, Any]
) -> None:
    """Every log line of a sampled request, its access line and the handler's own among them, has
    trace_id and span_id of the request's server span (the caller's trace, the service's span), and
    keeps request_id; a request its caller did not sample has no trace_id on its lines."""
    svc = launch(**traced(receiver, project), LOG_LEVEL="debug")
    root_rid, missing_rid, parent_rid, unsampled_rid = (
        new_request_id(p) for p in ("root", "404", "parent", "un")
    )
    parent, unsampled = Parent.new(), Parent.new(sampled=False)
    missing = f"/nope-{uuid.uuid4().hex}"
    assert svc.get("/version", headers=headers(root_rid)).status == 200
    assert svc.get(missing, headers=headers(missing_rid)).status == 404
    # Found before another GET /version is sent.
    traced_requests = {
        root_rid: root_server_span(receiver, "GET", "/version"),
        missing_rid: root_server_span(receiver, "GET", missing),
    }
    assert svc.get("/version", headers=headers(parent_rid, parent)).status == 200
    assert svc.get("/version", headers=headers(unsampled_rid, unsampled)).status == 200
    traced_requests[parent_rid] = server_span_of_trace(receiver, parent.trace_id)
    if answers["example_api"]:
        note_parent, note_rid = Parent.new(), new_request_id("note")
        create_note(svc, note_rid, note_parent)
        traced_requests[note_rid] = server_span_of_trace(receiver, note_parent.trace_id)

    for rid, span in traced_requests.items():
        records = records_of(svc, rid)
        for record in records:
            assert record.get("trace_id") == span.trace_id, f"trace_id of {span.describe()}: {record}"
            assert record.get("span_id") == span.span_id, f"span_id of {span.describe()}: {record}"
            assert HEX32.match(str(record["trace_id"])), record
            assert HEX16.match(str(record["span_id"])), record
    assert traced_requests[parent_rid].trace_id == parent.trace_id
    if answers["example_api"]:
        lines = records_of(svc, note_rid)
        assert len(lines) >= 2, f"the note's creation logs more than its access line: {lines}"

    for record in records_of(svc, unsampled_rid):
        assert "trace_id" not in record, f"a request its caller did not sample has no trace: {record}"
        assert "span_id" not in record, f"a request its caller did not sample has no span: {record}"


# -- dependencies' spans -------------------------------------------------------------------------------


@pytest.mark.usefixtures("needs_example_api")
def test_queries_and_cache_commands_are_children_of_the_request(
    launch: Launcher, receiver: OTLPReceiver, project: Path, answers: dict[str, Any]
) -> None:
    """Each PostgreSQL query the notes' handlers make is a CLIENT span named by the query's
    `-- name:` line, and each Redis command one named by the command, children of the request's
    server span in its trace."""
    postgres, redis = answers["database"] == "postgres", answers["cache"] == "redis"
    if not postgres and not redis:
        pytest.skip("the notes are kept in memory in this combination: no query, no cache command")
    svc = launch(**traced(receiver, project))
    create, read, miss = Parent.new(), Parent.new(), Parent.new()
    created = create_note(svc, new_request_id("create"), create)
    note_id = created.json()["id"]
    assert svc.get(f"/v1/notes/{note_id}", headers=headers(new_request_id("read"), read)).status == 200
    assert svc.get(f"/v1/notes/{NO_SUCH_NOTE}", headers=headers(new_request_id("miss"), miss)).status == 404
    spans = {
        name: server_span_of_trace(receiver, p.trace_id)
        for name, p in (("create", create), ("read", read), ("miss", miss))
    }

    expected: list[tuple[str, str, str]] = []  # request, span name, db.system.name
    if postgres:
        expected += [("create", "create_note", "postgresql"), ("miss", "get_note", "postgresql")]
        if not redis:
            expected.append(("read", "get_note", "postgresql"))
    if redis:
        # A new note is cached, read back from the cache, and one that does not exist is looked for
        # there first.
        expected += [("create", "set", "redis"), ("read", "get", "redis"), ("miss", "get", "redis")]
    for request, name, system in expected:
        span = child(receiver, spans[request], name)
        assert span.kind == "CLIENT", span.describe()
        assert span.attributes.get("db.system.name") == system, span.describe()


@pytest.mark.usefixtures("needs_example_api")
def test_a_queued_job_is_a_span_linked_to_the_request(
    launch: Launcher, receiver: OTLPReceiver, project: Path, answers: dict[str, Any]
) -> None:
    """The job a note's creation queues runs in a CONSUMER span of a trace of its own, linked to the
    server span of the request that queued it."""
    if not answers["background_worker"]:
        pytest.skip("no background worker in this combination: a note queues no job")
    svc = launch(**traced(receiver, project))
    parent = Parent.new()
    create_note(svc, new_request_id("queue"), parent)
    server = server_span_of_trace(receiver, parent.trace_id)
    job = receiver.wait_for_one(
        lambda s: (server.trace_id, server.span_id) in s.links,
        what=f"the job's span, linked to the server span {server.span_id}",
    )
    assert job.kind == "CONSUMER", job.describe()
    assert job.trace_id != server.trace_id, f"the job runs in a trace of its own: {job.describe()}"
    assert job.parent_span_id == "", f"the job's span starts its trace: {job.describe()}"


# -- exemplars -------------------------------------------------------------------------------------------


def family_text(exposition: str, family: str) -> str:
    """One metric family of an OpenMetrics exposition, as an exposition of its own. The whole one
    does not parse with prometheus_client: client_golang's Go collector exposes the gauge
    go_memstats_alloc_bytes and the counter go_memstats_alloc_bytes_total, both of family
    go_memstats_alloc_bytes there, which its parser refuses ("metadata after samples")."""
    lines = exposition.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"# HELP {family} ")))
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith(("# HELP ", "# EOF"))), len(lines)
    )
    return "\n".join([*lines[start:end], "# EOF", ""])


def test_exemplars_name_sampled_traces(launch: Launcher, receiver: OTLPReceiver, project: Path) -> None:
    """The OpenMetrics exposition of the request-duration histogram carries exemplars whose trace_id
    is that of a request's exported span; a request its caller did not sample leaves none."""
    svc = launch(**traced(receiver, project))
    for _ in range(5):
        assert svc.get("/version").status == 200
    traced_ids = {
        s.trace_id
        for s in receiver.wait_for(
            lambda s: s.kind == "SERVER" and s.attributes.get("url.path") == "/version",
            count=5,
            what="the spans of five GET /version",
        )
    }
    unsampled = Parent.new(sampled=False)
    # Last: an exemplar it left would be the newest of its bucket.
    unsampled_rid = new_request_id("unsampled")
    assert svc.get("/version", headers=headers(unsampled_rid, unsampled)).status == 200
    svc.wait_for_access(unsampled_rid)

    resp = svc.get("/metrics", admin=True, headers={"Accept": OPENMETRICS})
    assert resp.status == 200, resp.describe()
    assert resp.media_type == "application/openmetrics-text", resp.describe()
    text = resp.body.decode()
    exemplars = [
        (sample.name, sample.labels, sample.exemplar)
        for family in text_string_to_metric_families(family_text(text, DURATION))
        for sample in family.samples
        if sample.exemplar is not None
    ]
    for name, labels, exemplar in exemplars:
        trace_id = exemplar.labels.get("trace_id")
        assert trace_id is not None, f"an exemplar without trace_id: {name}{labels} {exemplar}"
        assert trace_id != unsampled.trace_id, (
            f"an unsampled request left an exemplar: {name}{labels} {exemplar}"
        )
    on_version = [
        exemplar.labels["trace_id"]
        for name, labels, exemplar in exemplars
        if name == DURATION_BUCKET and labels.get("route") == "/version" and labels.get("method") == "GET"
    ]
    buckets = [line for line in text.splitlines() if line.startswith(DURATION_BUCKET) and "/version" in line]
    assert on_version, f"no exemplar on GET /version's {DURATION_BUCKET} lines:\n" + "\n".join(buckets)
    assert set(on_version) <= traced_ids, (
        f"exemplars name traces no span was received for: {on_version}; received {sorted(traced_ids)}"
    )


# -- configuration ---------------------------------------------------------------------------------------


def test_spans_in_the_batch_at_sigterm_are_exported_by_the_shutdown(
    launch: Launcher, project: Path, answers: dict[str, Any]
) -> None:
    """With a minute between exports, a request's span is still in the batch at SIGTERM: the
    shutdown exports it, in its step "trace flush", after the HTTP server (and the worker) stopped
    and before the log is flushed. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, a full URL used as it is,
    overrides OTEL_EXPORTER_OTLP_ENDPOINT; http/protobuf is the protocol; service.name defaults to
    the project's name."""
    with OTLPReceiver("/collector/v1/traces") as own_path, OTLPReceiver() as overridden:
        svc = launch(
            OTEL_EXPORTER_OTLP_ENDPOINT=overridden.endpoint,
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=own_path.url,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_BSP_SCHEDULE_DELAY="60000",
            **quiet_worker(project),
        )
        parent, rid = Parent.new(), new_request_id("batched")
        assert svc.get("/version", headers=headers(rid, parent)).status == 200
        svc.wait_for_access(rid)
        assert own_path.received() == [], f"exported before the minute was up:\n{own_path.describe()}"
        stopped(svc)
        span = server_span_of_trace(own_path, parent.trace_id)
        assert span.name == "GET /version", span.describe()
        assert span.resource.get("service.name") == answers["project_name"], span.resource
        assert overridden.received() == [], (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must override OTEL_EXPORTER_OTLP_ENDPOINT:\n"
            + overridden.describe()
        )
        assert own_path.problems() == [], own_path.describe()

    steps = [str(r["step"]) for r in svc.records() if "step" in r]
    assert "trace flush" in steps, f"no shutdown step named 'trace flush': {steps}"
    assert "log flush" in steps, f"no shutdown step named 'log flush': {steps}"
    flush = steps.index("trace flush")
    assert flush < steps.index("log flush"), f"the spans are flushed before the log: {steps}"
    # The spans of the last requests and jobs end when the HTTP server and the worker stop.
    for before in ("http server", "worker"):
        if before in steps:
            assert steps.index(before) < flush, f"{before!r} stops before the spans are flushed: {steps}"
    (done,) = [r for r in svc.records() if r.get("step") == "trace flush"]
    assert done.get("msg") == "shutdown step done", done


# Each sampler, as OTEL_TRACES_SAMPLER names it (None: unset), with its argument, and whether a
# request is exported that comes without traceparent, with a sampled one, with an unsampled one.
SAMPLERS: list[tuple[str | None, str | None, tuple[bool, bool, bool]]] = [
    (None, None, (True, True, False)),  # parentbased_traceidratio, ratio 1
    ("always_on", None, (True, True, True)),
    ("always_off", None, (False, False, False)),
    ("traceidratio", "0", (False, False, False)),
    ("traceidratio", "1", (True, True, True)),
    ("parentbased_always_on", None, (True, True, False)),
    ("parentbased_always_off", None, (False, True, False)),
    ("parentbased_traceidratio", "0", (False, True, False)),
]


def test_samplers_decide_what_is_exported(launch: Launcher, project: Path) -> None:
    """OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG choose which requests are exported: each
    sampler of the specification, the default (parent-based, ratio 1) among them, with a request
    that starts a trace, one whose caller sampled it and one whose caller did not."""
    wrong = []
    for sampler, argument, expected in SAMPLERS:
        settings = {"OTEL_TRACES_SAMPLER": sampler} if sampler else {}
        if argument is not None:
            settings["OTEL_TRACES_SAMPLER_ARG"] = argument
        with OTLPReceiver() as each:
            svc = launch(**traced(each, project), **settings)
            sampled, unsampled = Parent.new(), Parent.new(sampled=False)
            for parent in (None, sampled, unsampled):
                assert svc.get("/version", headers=headers(new_request_id("sampler"), parent)).status == 200
            stopped(svc)
            server = each.spans(lambda s: s.kind == "SERVER")
            got = (
                any(s.parent_span_id == "" for s in server),
                any(s.trace_id == sampled.trace_id for s in server),
                any(s.trace_id == unsampled.trace_id for s in server),
            )
        if got != expected:
            wrong.append(
                f"{settings or 'no sampler setting'}: exported (root, sampled, unsampled) {got}, "
                f"want {expected}"
            )
    assert not wrong, "\n".join(wrong)


# OTLP/HTTP's default endpoint, where an exporter left without one would send: a receiver listens
# there while a service runs without an endpoint. One test process at a time takes the port.
DEFAULT_OTLP_PORT = 4318


@contextmanager
def default_endpoint_receiver() -> Iterator[OTLPReceiver]:
    lock_path = Path(tempfile.gettempdir()) / f"copier-go-service-otlp-{DEFAULT_OTLP_PORT}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = OTLPReceiver(port=DEFAULT_OTLP_PORT)
        except OSError as err:
            pytest.fail(
                f"cannot listen on OTLP's default port {DEFAULT_OTLP_PORT} to see nothing is sent: {err}"
            )
        with found:
            yield found


# Words a record about tracing would hold.
ABOUT_TRACING = re.compile(
    r"(?i)\b(?:trac(?:e|es|er|ing)|otel\w*|otlp|opentelemetry|spans?|export\w*)\b|4318"
)


def test_without_an_endpoint_nothing_is_sent_and_nothing_is_said(launch: Launcher, project: Path) -> None:
    """With no OTEL_EXPORTER_OTLP_ENDPOINT the service runs as usual: it sends no span (not to
    OTLP's default endpoint either) and logs no warning or error about tracing, from its start to its
    shutdown."""
    with default_endpoint_receiver() as default:
        svc = launch(OTEL_BSP_SCHEDULE_DELAY="100", **quiet_worker(project))
        assert svc.get("/version").status == 200
        assert svc.get("/version", headers={"traceparent": Parent.new().header}).status == 200
        assert svc.get(f"/nope-{uuid.uuid4().hex}").status == 404
        svc.settle()
        stopped(svc)
        assert default.received() == [], f"sent to OTLP's default endpoint:\n{default.describe()}"
    loud = [
        r
        for r in svc.records()
        if str(r.get("level", "")).lower() in ("warn", "warning", "error", "fatal", "panic")
        and ABOUT_TRACING.search(json.dumps(r))
    ]
    assert not loud, f"warnings or errors about tracing without an endpoint: {loud}"
    said = [line for line in svc.stderr_text().splitlines() if ABOUT_TRACING.search(line)]
    assert not said, f"stderr speaks of tracing without an endpoint: {said}"


def named(text: str, setting: str) -> bool:
    """Whether text names the setting (OTEL_TRACES_SAMPLER is not named by OTEL_TRACES_SAMPLER_ARG)."""
    return re.search(rf"(?<![A-Z_]){re.escape(setting)}(?![A-Z_])", text) is not None


@pytest.mark.parametrize(
    ("settings", "bad"),
    [
        pytest.param(
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "not-a-url",
                "OTEL_TRACES_SAMPLER": "traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "2",
                "LOG_LEVEL": "loud",
            },
            [
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_TRACES_SAMPLER_ARG",
                "LOG_LEVEL",
            ],
            id="grpc-endpoint-ratio",
        ),
        pytest.param(
            {"OTEL_TRACES_SAMPLER": "bogus", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "not-a-url"},
            ["OTEL_TRACES_SAMPLER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
            id="sampler-traces-endpoint",
        ),
    ],
)
def test_invalid_tracing_settings_stop_the_start(
    service_binary: Path, settings: dict[str, str], bad: list[str]
) -> None:
    """Tracing settings that cannot be honoured (a protocol other than http/protobuf, an endpoint
    that is no URL, a sampler that does not exist, a ratio above 1) stop the start with exit code 2,
    like every other bad setting, and stderr names each one, with another setting's problem."""
    stderr, stdout = refused_start_output(service_binary, HTTP_ADDR=f"127.0.0.1:{free_port()}", **settings)
    for setting in bad:
        assert named(stderr, setting), f"stderr does not name {setting}:\n{stderr}\n--- stdout ---\n{stdout}"
