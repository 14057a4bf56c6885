"""The runtime contract of a generated service, checked black-box against the built binary.

Every variant (router, logger, configuration backend, ...) must pass these tests unchanged: they start
the binary on free loopback ports, talk plain HTTP to it, read its JSON log lines from stdout and its
metrics from the admin port, and rely on nothing else of the implementation.
"""

from __future__ import annotations

import http.client
import json
import re
import select
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from conftest import answers_of, go, listed_settings
from service import (
    READY_TIMEOUT,
    REQUEST_TIMEOUT,
    Launcher,
    Metrics,
    Response,
    Service,
    clean_env,
    free_port,
    new_request_id,
    poll,
)

pytestmark = pytest.mark.slow

# -- fixtures and helpers ------------------------------------------------------------------------------


def missing_path() -> str:
    """A path no route matches, different every time."""
    return f"/nope-{uuid.uuid4()}"


def assert_problem(resp: Response, status: int) -> dict[str, Any]:
    """Assert resp is an RFC 9457 problem with this status, and return its body."""
    assert resp.status == status, f"expected {status}, got {resp.describe()}"
    assert resp.media_type == "application/problem+json", (
        f"a {status} must be application/problem+json, got {resp.describe()}"
    )
    problem = resp.json()
    assert isinstance(problem, dict), f"the problem must be a JSON object: {resp.describe()}"
    missing = {"type", "title", "status"} - problem.keys()
    assert not missing, f"the problem lacks {sorted(missing)}: {problem}"
    assert problem["status"] == status, f"the problem's status must be {status}: {problem}"
    return problem


def assert_security_headers(resp: Response, what: str) -> None:
    assert resp.header("X-Content-Type-Options") == "nosniff", f"{what}: {resp.describe()}"
    assert resp.header("X-Frame-Options") == "DENY", f"{what}: {resp.describe()}"
    assert resp.header("Referrer-Policy"), f"{what} lacks Referrer-Policy: {resp.describe()}"
    csp = resp.header("Content-Security-Policy") or ""
    assert "default-src 'none'" in csp, f"{what} lacks a CSP with default-src 'none': {resp.describe()}"


def is_sane_generated_id(value: str | None) -> bool:
    """A generated request ID: non-empty, at most 128 visible ASCII characters, no spaces or quotes."""
    return (
        value is not None
        and 0 < len(value) <= 128
        and all(0x21 <= ord(c) <= 0x7E and c not in "\"'" for c in value)
    )


def create_note(svc: Service, request_id: str | None = None) -> Response:
    headers = {"X-Request-ID": request_id} if request_id else {}
    return svc.post_json("/v1/notes", {"title": "hi", "body": "x"}, headers=headers)


def wait_until_readiness_fails(svc: Service, timeout: float) -> float:
    """Poll GET /readyz on new connections until it answers 503; return when (time.monotonic())."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            resp = svc.get("/readyz", timeout=2.0)
        except OSError as exc:
            pytest.fail(f"/readyz stopped answering ({exc!r}) before it was seen failing with 503")
        if resp.status == 503:
            return time.monotonic()
        assert resp.status == 200, f"/readyz during shutdown: {resp.describe()}"
        time.sleep(0.02)
    pytest.fail(f"/readyz did not turn 503 within {timeout}s of SIGTERM\n{svc.output()}")


def wait_until_listener_closes(svc: Service, timeout: float) -> float:
    """Poll GET /readyz on new connections, which must keep answering 503, until connections are refused.

    Return when (time.monotonic()) the public listener was seen closed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            resp = svc.get("/readyz", timeout=2.0)
        except OSError:
            return time.monotonic()
        assert resp.status == 503, f"/readyz must keep failing until the listener closes: {resp.describe()}"
        time.sleep(0.02)
    pytest.fail(f"the public listener still accepted connections {timeout}s after SIGTERM\n{svc.output()}")


# -- 1, 2: probes and version ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/livez", "/readyz"])
def test_probes_answer_200_with_json(service: Service, path: str) -> None:
    """GET /livez and GET /readyz answer 200 with a JSON body."""
    resp = service.get(path)
    assert resp.status == 200, f"GET {path}: {resp.describe()}"
    assert resp.media_type == "application/json", f"GET {path}: {resp.describe()}"
    resp.json()


def test_version_reports_the_build(service: Service) -> None:
    """GET /version answers 200 with version, commit, build_date and go_version."""
    resp = service.get("/version")
    assert resp.status == 200, resp.describe()
    assert resp.media_type == "application/json", resp.describe()
    info = resp.json()
    for key in ("version", "commit", "build_date", "go_version"):
        assert isinstance(info.get(key), str), f"/version lacks a string {key}: {info}"
        assert info[key], f"/version has an empty {key}: {info}"
    assert info["go_version"].startswith("go"), f"go_version must look like go1.x: {info}"


# -- 3: request IDs ------------------------------------------------------------------------------------


def test_request_id_is_echoed_and_logged(service: Service) -> None:
    """A sane incoming X-Request-ID is echoed in the response and carried by the access log."""
    resp = service.get("/version", headers={"X-Request-ID": "abc-123"})
    assert resp.status == 200, resp.describe()
    assert resp.header("X-Request-ID") == "abc-123", resp.describe()
    access = service.wait_for_access("abc-123")
    assert access["route"] == "/version", access


def test_request_id_is_generated_when_missing(service: Service) -> None:
    """A request without X-Request-ID gets a generated one, in the response and in its access log."""
    resp = service.get("/version")
    generated = resp.header("X-Request-ID")
    assert is_sane_generated_id(generated), f"no sane generated request ID: {resp.describe()}"
    assert generated is not None
    service.wait_for_access(generated)


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("a" * 300, id="300-chars"),
        pytest.param("has spaces in it", id="spaces"),
        pytest.param('quo"ted', id="double-quote"),
        pytest.param("it's", id="single-quote"),
        pytest.param("tab\tinside", id="tab"),
    ],
)
def test_insane_request_id_is_replaced(service: Service, incoming: str) -> None:
    """An unsafe incoming X-Request-ID is not echoed: a generated one replaces it, in the log too.

    (A raw newline cannot be sent inside a header value at all: it would end the header line.)
    """
    resp = service.get("/version", headers={"X-Request-ID": incoming})
    assert resp.status == 200, resp.describe()
    replaced = resp.header("X-Request-ID")
    assert replaced != incoming, f"the unsafe request ID {incoming!r} was echoed"
    assert is_sane_generated_id(replaced), f"no sane replacement request ID: {resp.describe()}"
    assert replaced is not None
    service.wait_for_access(replaced)
    assert not [r for r in service.records() if r.get("request_id") == incoming], (
        f"the unsafe request ID {incoming!r} reached the log"
    )


@pytest.mark.usefixtures("needs_example_api")
def test_request_id_is_on_every_log_record_of_a_request(service: Service) -> None:
    """Every record logged while serving POST /v1/notes (access log and app log) carries its request ID."""
    rid = new_request_id("notes")
    resp = create_note(service, rid)
    assert resp.status == 201, resp.describe()
    assert resp.header("X-Request-ID") == rid, resp.describe()
    service.wait_for_access(rid)
    service.settle()
    own = [r for r in service.records() if r.get("request_id") == rid]
    assert len(own) >= 2, f"expected the access log and an app log record with request_id {rid}, got {own}"
    assert [r for r in own if r not in service.access_records()], (
        f"no application log record (beside the access log) carries request_id {rid}: {own}"
    )


# -- 4: access log -------------------------------------------------------------------------------------


def assert_access_record(record: dict[str, Any], resp: Response, method: str) -> None:
    assert record["method"] == method, record
    assert type(record["status"]) is int, f"status must be an integer: {record}"
    assert record["status"] == resp.status, f"status must be {resp.status}: {record}"
    duration = record["duration_ms"]
    assert type(duration) in (int, float), f"duration_ms must be a number: {record}"
    assert duration >= 0, record
    assert type(record["bytes"]) is int, f"bytes must be an integer: {record}"
    assert record["bytes"] == len(resp.body), f"bytes must be the body length {len(resp.body)}: {record}"


def test_access_log_has_one_record_per_request(service: Service) -> None:
    """Each API request is logged exactly once, with method, route, status, duration_ms and bytes."""
    version_id, missing_id = new_request_id("version"), new_request_id("missing")
    path = missing_path()
    version = service.get("/version", headers={"X-Request-ID": version_id})
    missing = service.get(path, headers={"X-Request-ID": missing_id})
    service.settle()

    records = service.access_records(version_id)
    assert len(records) == 1, f"expected one access-log record for GET /version, got {records}"
    assert records[0]["route"] == "/version", records[0]
    assert_access_record(records[0], version, "GET")

    records = service.access_records(missing_id)
    assert len(records) == 1, f"expected one access-log record for GET {path}, got {records}"
    assert_access_record(records[0], missing, "GET")
    assert "nope-" not in str(records[0]["route"]), f"route must be a pattern, not the raw path: {records[0]}"


@pytest.mark.usefixtures("needs_example_api")
def test_access_log_route_is_the_pattern(service: Service) -> None:
    """The route logged is the route pattern (/v1/notes/{id}), never the requested path."""
    create_id, get_id = new_request_id("create"), new_request_id("get")
    created = create_note(service, create_id)
    assert created.status == 201, created.describe()
    random_id = uuid.uuid4().hex
    fetched = service.get(f"/v1/notes/{random_id}", headers={"X-Request-ID": get_id})
    service.settle()

    for rid, resp, method, route in (
        (create_id, created, "POST", "/v1/notes"),
        (get_id, fetched, "GET", "/v1/notes/{id}"),
    ):
        records = service.access_records(rid)
        assert len(records) == 1, f"expected one access-log record for {method} {route}, got {records}"
        assert records[0]["route"] == route, records[0]
        assert_access_record(records[0], resp, method)


def test_probes_are_not_in_the_access_log(service: Service) -> None:
    """/livez and /readyz are not access-logged."""
    before = len(service.access_records())
    for _ in range(3):
        for path in ("/livez", "/readyz"):
            assert service.get(path).status == 200
    service.settle()
    after = service.access_records()
    assert len(after) == before + 1, f"only the settling request should have been logged: {after[before:]}"
    probe_records = [
        r
        for r in service.records()
        if "status" in r and any(isinstance(v, str) and v in ("/livez", "/readyz") for v in r.values())
    ]
    assert not probe_records, f"probes were access-logged: {probe_records}"


def test_access_sampling_keeps_every_answer_from_400(launch: Launcher) -> None:
    """LOG_ACCESS_SAMPLE=0 logs no answer below 400, and still every answer from 400 up."""
    svc = launch(LOG_ACCESS_SAMPLE="0")
    quiet = [new_request_id("sampled") for _ in range(20)]
    for rid in quiet:
        resp = svc.get("/version", headers={"X-Request-ID": rid})
        assert resp.status == 200, resp.describe()
    missing_id = new_request_id("missing")
    missing = svc.get(missing_path(), headers={"X-Request-ID": missing_id})
    assert missing.status == 404, missing.describe()
    # Records are written in the order the answers were done: the 404's comes after the others.
    record = svc.wait_for_access(missing_id)

    logged = [r for r in svc.access_records() if r.get("request_id") in quiet]
    assert not logged, f"LOG_ACCESS_SAMPLE=0 logged answers below 400: {logged}"
    assert_access_record(record, missing, "GET")


# Scheduling slack allowed on top of LOG_FLUSH_INTERVAL when counting what a kill lost.
KILL_SLACK = 0.3


def test_a_kill_loses_at_most_the_last_flush_interval_of_records(launch: Launcher) -> None:
    """Records wait in the log's buffer at most LOG_FLUSH_INTERVAL. SIGKILL leaves the service no
    chance to flush: the access records it loses are of requests answered in that last interval."""
    interval = 0.5
    svc = launch(LOG_FLUSH_INTERVAL=f"{int(interval * 1000)}ms", RATE_LIMIT_RPS="0")
    answered: list[tuple[str, float]] = []
    until = time.monotonic() + 3 * interval
    while time.monotonic() < until:
        rid = new_request_id("kill")
        resp = svc.get("/version", headers={"X-Request-ID": rid})
        assert resp.status == 200, resp.describe()
        answered.append((rid, time.monotonic()))
        # Slow enough that the buffer never fills: the interval, not the size, is what flushes.
        time.sleep(0.02)
    svc.proc.kill()
    killed = time.monotonic()
    svc.wait_exit(10)

    logged = {r.get("request_id") for r in svc.access_records()}
    lost = [killed - at for rid, at in answered if rid not in logged]
    assert len(answered) > 10, f"only {len(answered)} requests answered"
    late = [age for age in lost if age > interval + KILL_SLACK]
    assert not late, (
        f"{len(lost)} of {len(answered)} access records lost to SIGKILL; {len(late)} of them for requests "
        f"answered up to {max(late):.2f}s before the kill, beyond LOG_FLUSH_INTERVAL={interval}s"
    )


def test_log_lines_are_json(launch: Launcher, answers: dict[str, Any]) -> None:
    """Every stdout line, from start to shutdown, is a JSON object with time, level and msg."""
    svc = launch()
    svc.get("/version")
    svc.get(missing_path())
    if answers["example_api"]:
        create_note(svc)
    svc.settle()
    assert svc.stop() == 0, svc.output()
    lines = svc.stdout_lines()
    assert lines, "the service logged nothing"
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"a stdout line is not JSON: {line!r}")
        assert isinstance(record, dict), f"a stdout line is not a JSON object: {line!r}"
        missing = {"time", "level", "msg"} - record.keys()
        assert not missing, f"a log record lacks {sorted(missing)}: {line!r}"


# -- 5: metrics and admin listener ---------------------------------------------------------------------


def test_request_counter_counts_requests(service: Service) -> None:
    """http_requests_total{method,route,code} counts each API request."""
    labels = {"method": "GET", "route": "/version", "code": "200"}
    assert service.get("/version").status == 200
    first = poll(
        lambda: service.metrics().value("http_requests_total", **labels) or None,
        timeout=5,
        what=f"http_requests_total{labels}",
    )
    family = service.metrics().family("http_requests_total")
    assert family is not None
    assert family.type == "counter", f"http_requests_total must be a counter: {family}"
    assert service.get("/version").status == 200
    second = poll(
        lambda: v if (v := service.metrics().value("http_requests_total", **labels)) > first else None,
        timeout=5,
        what=f"http_requests_total{labels} to grow past {first}",
    )
    assert second == first + 1, f"one request must count once: {first} -> {second}"


def test_metrics_expose_the_contracted_families(service: Service, answers: dict[str, Any]) -> None:
    """The admin /metrics has the HTTP histogram and gauges, <project>_build_info = 1 and runtime metrics."""
    assert service.get("/version").status == 200
    service.settle()
    metrics = service.metrics()

    histogram = metrics.family("http_request_duration_seconds_count")
    assert histogram is not None, "http_request_duration_seconds is missing"
    assert histogram.type == "histogram", f"http_request_duration_seconds must be a histogram: {histogram}"
    counts = [
        s
        for s in metrics.samples("http_request_duration_seconds_count")
        if s.labels.get("method") == "GET" and s.labels.get("route") == "/version"
    ]
    assert counts, f"no histogram series for GET /version: {histogram.samples}"
    assert counts[0].value >= 1, f"GET /version was not observed: {counts}"
    assert all("le" in s.labels for s in metrics.samples("http_request_duration_seconds_bucket")), histogram

    for gauge in ("http_requests_in_flight", "http_open_connections"):
        family = metrics.family(gauge)
        assert family is not None, f"{gauge} is missing"
        assert family.type == "gauge", f"{gauge} must be a gauge: {family}"
        assert metrics.samples(gauge), f"{gauge} has no sample"

    build_info = answers["project_name"].replace("-", "_") + "_build_info"
    family = metrics.family(build_info)
    assert family is not None, f"{build_info} is missing"
    assert family.type == "gauge", f"{build_info} must be a gauge: {family}"
    assert [s.value for s in metrics.samples(build_info)] == [1.0], family.samples

    for name in ("go_goroutines", "process_resident_memory_bytes"):
        assert metrics.samples(name), f"{name} is missing from /metrics"

    evictions = metrics.family("http_rate_limit_evictions_total")
    assert evictions is not None, "http_rate_limit_evictions_total is missing"
    assert evictions.type == "counter", f"http_rate_limit_evictions_total must be a counter: {evictions}"


# The families of the Go runtime, the process and the metrics handler itself: the runbook names them
# by prefix only.
RUNTIME_FAMILY = re.compile(r"(go|process|promhttp)_")


def test_runbook_names_every_metric_family(service: Service, answers: dict[str, Any], project: Path) -> None:
    """Every metric family /metrics exposes, the runtime's, the process's and promhttp's left out, is
    named in the project's docs/runbook.md, so that no metric ships without what on-call needs to
    read it. Families appear once they have a series: requests (and a note, read back) come first."""
    assert service.get("/version").status == 200
    if answers["example_api"]:
        created = create_note(service)
        assert created.status == 201, created.describe()
        assert service.get(f"/v1/notes/{created.json()['id']}").status == 200
    service.settle()
    scrape = service.get("/metrics", admin=True)
    assert scrape.status == 200, f"GET /metrics on the admin port: {scrape.describe()}"
    # The exposition's own names (`# TYPE http_requests_total counter`), as the runbook writes them.
    exposed = set(re.findall(r"^# TYPE (\S+) ", scrape.body.decode(), re.M))
    assert "http_requests_total" in exposed, f"no family found in /metrics: {sorted(exposed)}"
    runbook = (project / "docs" / "runbook.md").read_text()
    missing = sorted(
        name
        for name in exposed
        if not RUNTIME_FAMILY.match(name) and not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", runbook)
    )
    assert not missing, f"docs/runbook.md does not name these metric families of /metrics: {missing}"


def test_route_label_cardinality_is_bounded(launch: Launcher) -> None:
    """Requests to 200 random unknown paths add at most one route label value, never the raw path."""
    svc = launch(RATE_LIMIT_RPS="100000", RATE_LIMIT_BURST="100000")
    assert svc.get("/version").status == 200
    svc.settle()
    before = svc.metrics().label_values("route")
    for _ in range(200):
        resp = svc.get(missing_path())
        assert resp.status == 404, resp.describe()
    svc.settle()
    metrics = svc.metrics()
    after = metrics.label_values("route")
    not_found = sum(s.value for s in metrics.samples("http_requests_total") if s.labels.get("code") == "404")
    assert not_found >= 200, f"the 404s were not counted in http_requests_total: {not_found}"
    assert len(after - before) <= 1, f"route label values grew from {sorted(before)} to {sorted(after)}"
    assert not [v for v in after if "nope-" in v], f"raw paths became route labels: {sorted(after)}"


def test_admin_listener_serves_pprof_and_public_listener_hides_metrics(service: Service) -> None:
    """/debug/pprof/ is on the admin port; /metrics is not served on the public port."""
    pprof = service.get("/debug/pprof/", admin=True)
    assert pprof.status == 200, f"GET /debug/pprof/ on the admin port: {pprof.describe()}"
    public = service.get("/metrics")
    assert public.status == 404, f"GET /metrics on the public port must be 404: {public.describe()}"


def test_readiness_details_are_on_the_admin_listener_only(service: Service) -> None:
    """GET /debug/readyz answers the readiness details as JSON on the admin port, and 404 publicly."""
    details = service.get("/debug/readyz", admin=True)
    assert details.status == 200, f"GET /debug/readyz on the admin port: {details.describe()}"
    assert details.media_type == "application/json", details.describe()
    assert details.json().get("status") == "ok", details.describe()
    public = service.get("/debug/readyz")
    assert public.status == 404, f"GET /debug/readyz on the public port must be 404: {public.describe()}"


@pytest.mark.parametrize("admin", [False, True], ids=["public", "admin"])
def test_headers_over_the_cap_are_refused(launch: Launcher, admin: bool) -> None:
    """A header block over HTTP_MAX_HEADER_BYTES (default 64 KiB) is refused with 431 on both listeners."""
    svc = launch()
    path = "/metrics" if admin else "/version"
    small = svc.get(path, headers={"X-Padding": "a" * (32 << 10)}, admin=admin)
    assert small.status == 200, f"32 KiB of headers must pass the 64 KiB default: {small.describe()}"
    big = svc.get(path, headers={"X-Padding": "a" * (100 << 10)}, admin=admin)
    assert big.status == 431, f"100 KiB of headers must be refused with 431: {big.describe()}"

    capped = launch(HTTP_MAX_HEADER_BYTES="4096")
    resp = capped.get(path, headers={"X-Padding": "a" * (32 << 10)}, admin=admin)
    assert resp.status == 431, f"32 KiB of headers with HTTP_MAX_HEADER_BYTES=4096: {resp.describe()}"


# -- 6: security headers -------------------------------------------------------------------------------


def test_security_headers_on_every_response(launch: Launcher) -> None:
    """Probes, API answers, 404s and 429s all carry the security headers."""
    svc = launch(RATE_LIMIT_RPS="1", RATE_LIMIT_BURST="1")
    responses = {
        "GET /livez": svc.get("/livez"),
        "GET /readyz": svc.get("/readyz"),
        "GET /version": svc.get("/version"),
        "a 404": svc.get(missing_path()),
    }
    limited = [r for r in (svc.get("/version") for _ in range(10)) if r.status == 429]
    assert limited, "no 429 with RATE_LIMIT_RPS=1 RATE_LIMIT_BURST=1"
    responses["a 429"] = limited[0]
    for what, resp in responses.items():
        assert_security_headers(resp, what)


# -- 7: RFC 9457 errors and the example API ------------------------------------------------------------


def test_unknown_path_is_a_404_problem(service: Service) -> None:
    """An unknown path answers 404 as application/problem+json."""
    assert_problem(service.get(missing_path()), 404)


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/livez"), ("POST", "/readyz"), ("DELETE", "/version")]
)
def test_known_path_with_another_method_is_a_405_problem(service: Service, method: str, path: str) -> None:
    """A known path asked with a method it does not serve answers a 405 problem whose Allow lists GET."""
    resp = service.request(method, path)
    assert_problem(resp, 405)
    allowed = {m.strip() for m in (resp.header("Allow") or "").split(",")}
    assert "GET" in allowed, f"Allow must list GET: {resp.describe()}"


@pytest.mark.usefixtures("needs_example_api")
def test_note_is_created_and_read_back(service: Service) -> None:
    """POST /v1/notes answers 201 with an id and a Location; GET of that location returns the note."""
    created = create_note(service)
    assert created.status == 201, created.describe()
    note = created.json()
    assert isinstance(note.get("id"), str), f"the created note has no string id: {note}"
    assert note["id"], f"the created note has an empty id: {note}"
    location = created.header("Location")
    assert location, f"201 without a Location header: {created.describe()}"
    path = urlsplit(urljoin(f"http://127.0.0.1:{service.http_port}/v1/notes", location)).path
    assert path.endswith(note["id"]), f"Location {location} does not name note {note['id']}"

    fetched = service.get(path)
    assert fetched.status == 200, fetched.describe()
    assert fetched.media_type == "application/json", fetched.describe()
    got = fetched.json()
    assert {k: got.get(k) for k in ("id", "title", "body")} == {"id": note["id"], "title": "hi", "body": "x"}


@pytest.mark.usefixtures("needs_example_api")
def test_missing_note_is_a_404_problem(service: Service) -> None:
    """GET /v1/notes/{id} of an id that was never created answers a 404 problem."""
    assert_problem(service.get(f"/v1/notes/{uuid.uuid4().hex}"), 404)


@pytest.mark.usefixtures("needs_example_api")
@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        pytest.param("text/plain", b'{"title":"hi","body":"x"}', 415, id="wrong-content-type"),
        pytest.param("application/json", b'{"title":"hi",', 400, id="malformed-json"),
        pytest.param("application/json", b'{"title":"hi","body":"x","color":"red"}', 400, id="unknown-field"),
    ],
)
def test_bad_note_request_is_a_problem(service: Service, content_type: str, body: bytes, status: int) -> None:
    """POST /v1/notes refuses a wrong Content-Type (415), malformed JSON and unknown fields (400)."""
    resp = service.request("POST", "/v1/notes", body=body, headers={"Content-Type": content_type})
    assert_problem(resp, status)


@pytest.mark.usefixtures("needs_example_api")
@pytest.mark.parametrize(
    ("body", "key"),
    [
        pytest.param(b'{"title":"hi","title":"other","body":"x"}', "title", id="duplicate-key"),
        pytest.param(b'{"TITLE":"hi","body":"x"}', "TITLE", id="case-variant-key"),
    ],
)
def test_ambiguous_json_is_a_400_problem_naming_the_key(service: Service, body: bytes, key: str) -> None:
    """A key given twice, or a field name in other letter case, is refused: 400 naming the key."""
    resp = service.request("POST", "/v1/notes", body=body, headers={"Content-Type": "application/json"})
    problem = assert_problem(resp, 400)
    assert f'"{key}"' in str(problem.get("detail")), f"the problem must name the key {key!r}: {problem}"


@pytest.mark.usefixtures("needs_example_api")
def test_invalid_note_is_a_422_problem_naming_the_field(service: Service) -> None:
    """A note with an empty title answers 422 with an errors list naming the field "title"."""
    problem = assert_problem(service.post_json("/v1/notes", {"title": "", "body": "x"}), 422)
    errors = problem.get("errors")
    assert isinstance(errors, list), f"a 422 must list the invalid fields in errors: {problem}"
    fields = [e.get("field") for e in errors if isinstance(e, dict)]
    assert "title" in fields, f"errors must name the field title: {problem}"


@pytest.mark.usefixtures("needs_example_api")
def test_oversized_body_is_a_413_problem(launch: Launcher) -> None:
    """A body over MAX_BODY_BYTES answers 413, whether its length is declared or it comes chunked."""
    svc = launch(MAX_BODY_BYTES="64")
    body = json.dumps({"title": "t" * 100, "body": "b" * 100}).encode()
    headers = {"Content-Type": "application/json"}
    assert_problem(svc.request("POST", "/v1/notes", body=body, headers=headers), 413)
    assert_problem(svc.request("POST", "/v1/notes", body=iter([body[:50], body[50:]]), headers=headers), 413)


@pytest.mark.usefixtures("needs_example_api")
def test_413_and_429_carry_the_route(launch: Launcher) -> None:
    """A 413 or 429 is logged and counted under the route it was sent to, not as unmatched."""
    svc = launch(MAX_BODY_BYTES="64", RATE_LIMIT_RPS="1", RATE_LIMIT_BURST="3")
    body = json.dumps({"title": "t" * 100, "body": "b" * 100}).encode()
    too_large_id = new_request_id("large")
    headers = {"Content-Type": "application/json", "X-Request-ID": too_large_id}
    assert_problem(svc.request("POST", "/v1/notes", body=body, headers=headers), 413)
    limited_id = ""
    for _ in range(5):
        rid = new_request_id("limited")
        if svc.get("/version", headers={"X-Request-ID": rid}).status == 429:
            limited_id = rid
            break
    assert limited_id, "no 429 among 5 requests past a burst of 3"
    # The client is limited now: wait for the two records instead of settling with a request.
    for rid, method, route, status in (
        (too_large_id, "POST", "/v1/notes", 413),
        (limited_id, "GET", "/version", 429),
    ):
        record = svc.wait_for_access(rid)
        assert record["status"] == status, record
        assert record["route"] == route, f"a {status} must be logged under {route}: {record}"
        count = svc.metrics().value("http_requests_total", method=method, route=route, code=str(status))
        assert count >= 1, f"http_requests_total{{method={method},route={route},code={status}}} = {count}"


# -- client input never answers 5xx: note IDs and text a store cannot keep ----------------------------

# Note IDs are 26 characters of upper-case base32 (A-Z, 2-7): any other path segment names no note.
MALFORMED_NOTE_IDS = {
    "nul": "%00",
    "invalid-utf8": "%ff",
    "nul-in-a-well-sized-id": "A" * 25 + "%00",
    "invalid-utf8-in-a-well-sized-id": "A" * 25 + "%FF",
    "non-ascii-in-a-well-sized-id": "%C3%89" + "A" * 24,
    "one-too-long": "A" * 27,
    "overlong": "A" * 4000,
    "one-too-short": "A" * 25,
    "lower-case": "a" * 26,
    "not-base32": "0" * 26,
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "encoded-slash": "A" * 12 + "%2F" + "A" * 13,
    "sql": "%27%20OR%20%271%27%3D%271",
}


def assert_no_error_record(svc: Service) -> None:
    """No log record so far is at level error (what a 5xx or a store's failure logs)."""
    svc.settle()
    errors = [r for r in svc.records() if str(r.get("level")).lower() == "error"]
    assert not errors, f"client input must log no ERROR record: {errors}"


@pytest.mark.usefixtures("needs_example_api")
def test_malformed_note_id_is_a_404_problem(service: Service) -> None:
    """GET /v1/notes/{id} of an ID no note can have (NUL, invalid UTF-8, too long, another alphabet)
    answers a 404 problem, like one that was never created, and logs no error, whatever the store."""
    wrong = []
    for name, note_id in {**MALFORMED_NOTE_IDS, "well-formed-never-created": "A" * 26}.items():
        resp = service.get(f"/v1/notes/{note_id}")
        if resp.status != 404 or resp.media_type != "application/problem+json":
            wrong.append(f"{name}: {resp.describe()}")
    assert not wrong, "expected a 404 problem for:\n" + "\n".join(wrong)
    assert_no_error_record(service)


@pytest.mark.usefixtures("needs_example_api")
@pytest.mark.parametrize("field", ["title", "body"])
def test_nul_in_a_note_field_is_a_422_problem_naming_it(service: Service, field: str) -> None:
    """A note whose field holds U+0000 (which PostgreSQL's text cannot store) answers 422 naming that
    field, and logs no error, whatever the store."""
    note = {"title": "hi", "body": "x", field: "a\u0000b"}
    problem = assert_problem(service.post_json("/v1/notes", note), 422)
    errors = problem.get("errors")
    fields = [e.get("field") for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    assert fields == [field], f"errors must name the field {field} alone: {problem}"
    assert_no_error_record(service)


@pytest.mark.usefixtures("needs_example_api")
@pytest.mark.parametrize(
    "title",
    [pytest.param(b"a\\ud800b", id="lone-surrogate"), pytest.param(b"a\xffb", id="invalid-utf8")],
)
def test_invalid_unicode_in_a_note_is_kept_as_u_fffd(service: Service, title: bytes) -> None:
    """A lone surrogate escape or invalid UTF-8 in a JSON string is read as U+FFFD: the note is created
    and read back with it, and nothing is logged as an error, whatever the store."""
    body = b'{"title":"' + title + b'","body":"x"}'
    created = service.request("POST", "/v1/notes", body=body, headers={"Content-Type": "application/json"})
    assert created.status == 201, created.describe()
    fetched = service.get(f"/v1/notes/{created.json()['id']}")
    assert fetched.status == 200, fetched.describe()
    assert fetched.json()["title"] == "a\ufffdb", fetched.describe()
    assert_no_error_record(service)


# -- 8: rate limiting ----------------------------------------------------------------------------------


def test_rate_limit_answers_429_but_spares_probes(launch: Launcher) -> None:
    """Past its burst a client gets 429 problems with Retry-After; the probes still answer 200."""
    svc = launch(RATE_LIMIT_RPS="1", RATE_LIMIT_BURST="2")
    answers: list[Response] = []
    for _ in range(10):
        answers.append(svc.get("/version"))
        for probe in ("/livez", "/readyz"):
            resp = svc.get(probe)
            assert resp.status == 200, f"GET {probe} while rate limited: {resp.describe()}"
    statuses = [r.status for r in answers]
    assert set(statuses) <= {200, 429}, statuses
    limited = [r for r in answers if r.status == 429]
    assert limited, f"no 429 among 10 quick requests with RATE_LIMIT_RPS=1 RATE_LIMIT_BURST=2: {statuses}"
    for resp in limited:
        assert_problem(resp, 429)
        retry_after = resp.header("Retry-After") or ""
        assert retry_after.isdigit(), f"Retry-After must be a number of seconds: {resp.describe()}"
        assert int(retry_after) >= 1, f"Retry-After must be positive: {resp.describe()}"


# -- 9: configuration ----------------------------------------------------------------------------------


# URLs that parse as URLs but that the drivers refuse (an sslmode PostgreSQL does not have, a Redis
# database that is not a number), each with a password that must appear nowhere.
DRIVER_REFUSED_URLS = {
    "DATABASE_URL": "postgres://app:{password}@127.0.0.1:5432/app?sslmode=bogus",
    "REDIS_URL": "redis://:{password}@127.0.0.1:6379/abc",
}


def test_invalid_configuration_exits_2_naming_every_bad_variable(service_binary: Path, project: Path) -> None:
    """Invalid settings stop the start with exit code 2, and stderr names every invalid variable: a
    dependency's URL its driver refuses among them, its password written nowhere."""
    password = f"pw-{uuid.uuid4().hex}"
    urls = {
        name: url.format(password=password)
        for name, url in DRIVER_REFUSED_URLS.items()
        if name in listed_settings(project)
    }
    stderr, stdout = refused_start_output(
        service_binary,
        HTTP_ADDR="not-an-address",
        LOG_LEVEL="loud",
        RATE_LIMIT_BURST="-1",
        LOG_FORMAT="json",
        **urls,
    )
    for name in ("HTTP_ADDR", "LOG_LEVEL", "RATE_LIMIT_BURST", *urls):
        assert name in stderr, f"stderr does not name {name}:\n{stderr}"
    assert password not in stderr + stdout, f"a password was written out:\n{stdout}\n{stderr}"


def test_rate_limit_near_zero_is_refused(service_binary: Path) -> None:
    """RATE_LIMIT_RPS must be 0 (off) or a sane rate: 1e-10 stops the start with exit code 2."""
    stderr = refused_start(service_binary, RATE_LIMIT_RPS="1e-10", HTTP_ADDR=f"127.0.0.1:{free_port()}")
    assert "RATE_LIMIT_RPS" in stderr, f"stderr does not name RATE_LIMIT_RPS:\n{stderr}"


def refused_start(service_binary: Path, **settings: str) -> str:
    """Start the service with these settings; it must exit with code 2 within 10 s. Its stderr."""
    return refused_start_output(service_binary, **settings)[0]


def refused_start_output(service_binary: Path, **settings: str) -> tuple[str, str]:
    """Start the service with these settings; it must exit with code 2 within 10 s. Its stderr and
    stdout."""
    env = clean_env(ADMIN_ADDR=f"127.0.0.1:{free_port()}", **settings)
    try:
        proc = subprocess.run(
            [str(service_binary)], env=env, capture_output=True, text=True, timeout=10, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the service did not exit within 10s with {settings}: {exc.stderr!r}")
    assert proc.returncode == 2, f"exit code {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stderr, proc.stdout


# -- 10: healthcheck command ---------------------------------------------------------------------------


def run_healthcheck(binary: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [str(binary), "healthcheck"], env=env, capture_output=True, text=True, timeout=15, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("`healthcheck` did not finish within 15s")


def test_healthcheck_command_passes_against_running_service(service: Service) -> None:
    """`<binary> healthcheck` with the service's HTTP_ADDR exits 0."""
    proc = run_healthcheck(service.binary, service.env)
    assert proc.returncode == 0, f"exit code {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def test_healthcheck_command_fails_when_nothing_listens(service_binary: Path) -> None:
    """`<binary> healthcheck` with HTTP_ADDR on a port nothing listens on exits non-zero."""
    env = clean_env(HTTP_ADDR=f"127.0.0.1:{free_port()}", ADMIN_ADDR=f"127.0.0.1:{free_port()}")
    proc = run_healthcheck(service_binary, env)
    assert proc.returncode != 0, f"healthcheck passed with nothing listening\n{proc.stdout}\n{proc.stderr}"


# -- 12, 13: graceful shutdown -------------------------------------------------------------------------


def test_readiness_fails_for_the_drain_delay_before_the_listener_closes(launch: Launcher) -> None:
    """On SIGTERM /readyz turns 503 while new connections are still accepted, for SHUTDOWN_DRAIN_DELAY."""
    drain_delay, margin = 1.0, 5.0
    svc = launch(SHUTDOWN_DRAIN_DELAY="1s", SHUTDOWN_TIMEOUT="10s")
    svc.terminate()
    sigterm_at = time.monotonic()
    wait_until_readiness_fails(svc, timeout=drain_delay + margin)
    closed_at = wait_until_listener_closes(svc, timeout=drain_delay + margin)
    assert closed_at - sigterm_at >= drain_delay - 0.05, (
        f"the listener closed {closed_at - sigterm_at:.3f}s after SIGTERM, before the 1s drain delay ended"
    )
    assert svc.wait_exit(timeout=max(0.1, sigterm_at + drain_delay + margin - time.monotonic())) == 0


@pytest.mark.usefixtures("needs_example_api")
def test_graceful_shutdown_finishes_in_flight_request(launch: Launcher) -> None:
    """On SIGTERM readiness fails, the listener closes after the drain delay, yet a request in flight
    (its body half sent) still completes with 201, and the process exits 0 logging the shutdown.
    """
    drain_delay, shutdown_timeout, margin = 1.0, 10.0, 5.0
    svc = launch(SHUTDOWN_DRAIN_DELAY="1s", SHUTDOWN_TIMEOUT="10s")
    rid = new_request_id("inflight")
    body = json.dumps({"title": "in flight", "body": "sent in two parts"}).encode()
    first, rest = body[: len(body) // 2], body[len(body) // 2 :]
    head = (
        f"POST /v1/notes HTTP/1.1\r\nHost: 127.0.0.1:{svc.http_port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-ID: {rid}\r\n\r\n"
    ).encode()

    with socket.create_connection(("127.0.0.1", svc.http_port), timeout=30) as sock:
        sock.sendall(head + first)
        poll(
            lambda: True if svc.metrics().value("http_requests_in_flight") >= 1 else None,
            timeout=5,
            what="the half-sent request to be in flight (http_requests_in_flight >= 1)",
        )
        svc.terminate()
        sigterm_at = time.monotonic()

        not_ready_at = wait_until_readiness_fails(svc, timeout=drain_delay + margin)
        assert not select.select([sock], [], [], 0)[0], (
            "the in-flight request was answered or cut before its body was complete, "
            f"{not_ready_at - sigterm_at:.3f}s after SIGTERM, when readiness had just turned 503"
        )
        closed_at = wait_until_listener_closes(svc, timeout=drain_delay + margin)
        assert not select.select([sock], [], [], 0)[0], (
            "the in-flight request was answered or cut before its body was complete, "
            f"{closed_at - sigterm_at:.3f}s after SIGTERM, when the listener had just closed"
        )

        sock.sendall(rest)
        resp = http.client.HTTPResponse(sock, method="POST")
        try:
            resp.begin()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            pytest.fail(f"the in-flight request got no complete response: {exc!r}\n{svc.output()}")

    assert resp.status == 201, f"the in-flight request got {resp.status}: {data!r}"
    note = json.loads(data)
    assert note.get("title") == "in flight", note

    budget = drain_delay + shutdown_timeout + margin
    code = svc.wait_exit(timeout=max(0.1, sigterm_at + budget - time.monotonic()))
    assert code == 0, f"exit code {code} after a graceful shutdown\n{svc.output()}"

    access = svc.access_records(rid)
    assert [r["status"] for r in access] == [201], f"access log of the in-flight request: {access}"
    records = svc.records()
    assert any("shutdown" in str(r.get("msg", "")).lower() for r in records), svc.output()
    assert "shutdown" in str(records[-1].get("msg", "")).lower(), (
        f"the last log record must report the shutdown's completion: {records[-1]}"
    )


def server_closed(sock: socket.socket, timeout: float) -> bool:
    """Whether the server closes sock (end of stream or reset) within timeout seconds."""
    if not select.select([sock], [], [], timeout)[0]:
        return False
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_drain_answers_ask_clients_to_reconnect(launch: Launcher) -> None:
    """From SIGTERM, for the drain delay, the service keeps serving on the connections it has and on
    new ones, and every answer carries Connection: close, after which the connection is closed."""
    svc = launch(SHUTDOWN_DRAIN_DELAY="3s", SHUTDOWN_TIMEOUT="10s")
    request = f"GET /version HTTP/1.1\r\nHost: 127.0.0.1:{svc.http_port}\r\n\r\n".encode()

    def get_version(conn: socket.socket) -> http.client.HTTPResponse:
        conn.sendall(request)
        resp = http.client.HTTPResponse(conn, method="GET")
        resp.begin()
        resp.read()
        return resp

    with socket.create_connection(("127.0.0.1", svc.http_port), timeout=10) as kept:
        before = get_version(kept)
        assert before.status == 200, before.status
        assert (before.getheader("Connection") or "").lower() != "close", "keep-alive before the shutdown"

        svc.terminate()
        wait_until_readiness_fails(svc, timeout=2)
        with socket.create_connection(("127.0.0.1", svc.http_port), timeout=10) as fresh:
            for name, conn in (("kept", kept), ("new", fresh)):
                during = get_version(conn)
                assert during.status == 200, f"the {name} connection must be served in the drain"
                assert (during.getheader("Connection") or "").lower() == "close", (
                    f"an answer in the drain must carry Connection: close: {during.getheaders()}"
                )
                assert server_closed(conn, timeout=1), f"the {name} connection stayed open after it"
    assert svc.wait_exit(timeout=3 + 10) == 0, svc.output()


def test_sighup_does_not_stop_the_service(launch: Launcher) -> None:
    """SIGHUP is logged and the service keeps serving (it exits 0 on the SIGTERM that follows)."""
    svc = launch()
    svc.proc.send_signal(signal.SIGHUP)
    svc.wait_for_records(
        lambda r: any(w in json.dumps(r).lower() for w in ("sighup", "hangup")),
        what="a record of the SIGHUP",
    )
    assert svc.running, f"the service exited on SIGHUP with {svc.proc.returncode}\n{svc.output()}"
    assert svc.get("/livez").status == 200
    assert svc.stop() == 0, svc.output()


def test_shutdown_without_traffic_is_quick(launch: Launcher) -> None:
    """SIGTERM on an idle service exits 0 within the drain delay plus a few seconds, logging it."""
    svc = launch(SHUTDOWN_DRAIN_DELAY="300ms")
    svc.terminate()
    start = time.monotonic()
    code = svc.wait_exit(timeout=0.3 + 5)
    elapsed = time.monotonic() - start
    assert code == 0, f"exit code {code} after SIGTERM\n{svc.output()}"
    assert elapsed >= 0.3 - 0.05, f"exited after {elapsed:.3f}s, before the 300ms drain delay ended"
    records = svc.records()
    assert records, "the service logged nothing"
    assert "shutdown" in str(records[-1].get("msg", "")).lower(), (
        f"the last log record must report the shutdown's completion\n{svc.output()}"
    )


# -- 12: configuration sources and reload ------------------------------------------------------------------
#
# What a variant reads is what it declares: a variant that reads a configuration file ships
# config.example.yaml and names CONFIG_FILE in its usage; one that does not ships neither. The tests
# below take their expectations from that declaration, so each backend of copier.yml's choices runs
# every test that applies to it, and a test that cannot apply says why it is skipped.

READS_NOTHING_BUT_THE_ENVIRONMENT = "the variant reads no configuration file (no config.example.yaml)"


@pytest.fixture
def reads_file(project: Path) -> bool:
    """Whether the variant reads a configuration file, as it declares by its config.example.yaml."""
    return (project / "config.example.yaml").is_file()


@pytest.fixture
def needs_file(reads_file: bool) -> None:
    if not reads_file:
        pytest.skip(READS_NOTHING_BUT_THE_ENVIRONMENT)


def statuses(svc: Service, count: int) -> list[int]:
    """The statuses of count quick GET /version requests."""
    return [svc.get("/version").status for _ in range(count)]


def rate_limit_file(rps: str, burst: str, **more: str) -> str:
    lines = [f"rate_limit_rps: {rps}", f"rate_limit_burst: {burst}"]
    lines += [f"{key}: {value}" for key, value in more.items()]
    return "\n".join(lines) + "\n"


def test_variant_declares_what_it_reads(service_binary: Path, reads_file: bool, project: Path) -> None:
    """A variant's example file, usage and README agree on whether it reads a configuration file."""
    usage = subprocess.run(
        [str(service_binary), "help"], env=clean_env(), capture_output=True, text=True, timeout=10, check=True
    ).stdout
    assert ("CONFIG_FILE" in usage) == reads_file, f"usage and config.example.yaml disagree:\n{usage}"
    readme = (project / "README.md").read_text()
    assert ("config.example.yaml" in readme) == reads_file, "README and config.example.yaml disagree"


def test_readme_names_every_secret(project: Path) -> None:
    """The README's sentence on secrets names every setting the configuration treats as one."""
    table = (project / "internal/config/config.go").read_text()
    secrets = re.findall(r'\{Env: "([A-Z0-9_]+)", Secret: true\}', table)
    sentence = re.search(
        r"^Secrets \((.*?)\) come only from the environment", (project / "README.md").read_text(), re.M
    )
    assert sentence, "the README has no sentence on secrets"
    named = re.findall(r"`([A-Z0-9_]+)`", sentence[1])
    assert named == secrets, f"README names {named}, the configuration's secrets are {secrets}"


@pytest.mark.parametrize("layers", ["defaults", "environment", "file", "environment-over-file"])
def test_precedence_defaults_file_environment(
    launch: Launcher, reads_file: bool, tmp_path: Path, layers: str
) -> None:
    """Defaults < file < environment, seen in the burst a client gets before its first 429. A variant
    that reads no file ignores CONFIG_FILE: the file's burst must then not show."""
    config = tmp_path / "config.yaml"
    config.write_text(rate_limit_file("0.001", "3"))
    env = {
        "defaults": {},
        "environment": {"RATE_LIMIT_RPS": "0.001", "RATE_LIMIT_BURST": "4"},
        "file": {"CONFIG_FILE": str(config)},
        "environment-over-file": {
            "CONFIG_FILE": str(config),
            "RATE_LIMIT_RPS": "0.002",
            "RATE_LIMIT_BURST": "5",
        },
    }[layers]
    # Expected allowed requests; None: the default burst (200), far above the 8 sent.
    expected = {
        "defaults": None,
        "environment": 4,
        "file": 3 if reads_file else None,
        "environment-over-file": 5,
    }[layers]
    svc = launch(**env)
    got = statuses(svc, 8)
    want = [200] * 8 if expected is None else [200] * expected + [429] * (8 - expected)
    assert got == want, f"{layers}: {got}, want {want}\n{svc.output()}"
    # The start-up record names the file read, and no file when none is.
    # (Waited for: the record may still be in the log's buffer.)
    loaded = svc.wait_for_records(lambda r: r.get("msg") == "configuration loaded", what="start-up record")[0]
    read = str(config) if reads_file and "CONFIG_FILE" in env else None
    assert loaded.get("file") == read, loaded


@pytest.mark.usefixtures("needs_file")
@pytest.mark.parametrize(
    ("content", "named"),
    [
        pytest.param(
            "log_level: loud\nbogus: 1\nrate_limit_burst: [1, 2]\n",
            ["log_level", "line 1", "bogus", "line 2", "rate_limit_burst", "line 3"],
            id="invalid-unknown-wrong-type",
        ),
        pytest.param("log_level: info\nrate_limit_rps: [\n", ["CONFIG_FILE", "line"], id="malformed"),
        # A key written twice, in other letter case or alike: each later one is named with its line and
        # the first one's, and the file's other problems are named with them.
        pytest.param(
            "log_level: info\nrate_limit_rps: 5\nLog_Level: debug\n",
            ["Log_Level", "line 3", "log_level", "line 1"],
            id="case-variant-duplicate",
        ),
        pytest.param(
            "rate_limit_burst: 5\nbogus: 1\nrate_limit_burst: 6\n",
            ["rate_limit_burst", "line 3", "line 1", "bogus", "line 2"],
            id="duplicate-and-unknown",
        ),
        # A file named but holding no setting is a mistake (a file caught half-written, a wrong
        # path's empty file), not a way to ask for the defaults.
        pytest.param("", ["CONFIG_FILE", "no settings"], id="empty"),
        pytest.param("# rate_limit_rps: 5\n\n   \n", ["CONFIG_FILE", "no settings"], id="comments-only"),
    ],
)
def test_invalid_file_exits_2_naming_every_key_and_line(
    service_binary: Path, tmp_path: Path, content: str, named: list[str]
) -> None:
    """A file with invalid values, unknown keys or wrong types, or one that does not parse, stops the
    start with exit code 2; stderr names every bad key and its line."""
    config = tmp_path / "config.yaml"
    config.write_text(content)
    stderr = refused_start(service_binary, CONFIG_FILE=str(config), HTTP_ADDR=f"127.0.0.1:{free_port()}")
    for word in named:
        assert word in stderr, f"stderr does not name {word}:\n{stderr}"


def configmap_volume(directory: Path) -> Callable[[str], None]:
    """A directory laid out as the kubelet lays out a mounted ConfigMap: config.yaml links through
    ..data to a timestamped directory. Calling the result publishes new content the kubelet's way:
    a new directory, a symlink renamed over ..data, the old directory removed."""
    versions = iter(range(1, 1000))

    def publish(content: str) -> None:
        version = directory / f"..2026_{next(versions):03d}"
        version.mkdir()
        (version / "config.yaml").write_text(content)
        data = directory / "..data"
        old = data.readlink() if data.is_symlink() else None
        (directory / "..data_tmp").symlink_to(version.name)
        (directory / "..data_tmp").rename(data)
        if old is not None:
            shutil.rmtree(directory / old)
        link = directory / "config.yaml"
        if not link.is_symlink():
            link.symlink_to(Path("..data") / "config.yaml")

    return publish


def wait_for_429(svc: Service, what: str, timeout: float = 10.0) -> None:
    def limited() -> bool | None:
        return True if svc.get("/version").status == 429 else None

    poll(limited, timeout=timeout, interval=0.1, what=f"a 429 after {what}\n{svc.output()}")


def test_reload_by_sighup_lowers_the_rate_limit(launch: Launcher, reads_file: bool, tmp_path: Path) -> None:
    """SIGHUP reloads the file: a lowered rate limit answers 429s at once, and a changed key that needs
    a restart is named in a WARN record. A variant that reads no file logs that there is nothing to
    reload, keeps its limits and keeps serving."""
    config = tmp_path / "config.yaml"
    config.write_text(rate_limit_file("1000", "1000"))
    svc = launch(CONFIG_FILE=str(config))
    assert statuses(svc, 8) == [200] * 8
    config.write_text(rate_limit_file("0.001", "2", http_idle_timeout="90s"))
    svc.proc.send_signal(signal.SIGHUP)
    if not reads_file:
        svc.wait_for_records(lambda r: r.get("signal") == "hangup", what="the SIGHUP logged")
        assert statuses(svc, 8) == [200] * 8, "a variant that reads no file changed its limits on SIGHUP"
        assert svc.running, svc.output()
        return
    wait_for_429(svc, "SIGHUP lowered the limit")
    svc.wait_for_records(
        lambda r: r.get("level") == "warn" and "http_idle_timeout" in json.dumps(r.get("keys")),
        what="a WARN naming http_idle_timeout as needing a restart",
    )
    assert svc.running, svc.output()


@pytest.mark.usefixtures("needs_file")
def test_reload_by_file_change_lowers_the_rate_limit(launch: Launcher, tmp_path: Path) -> None:
    """A change of the file, made as Kubernetes updates a mounted ConfigMap (a symlink swapped by a
    rename), reloads it without a signal, the second change as well as the first."""
    publish = configmap_volume(tmp_path)
    publish(rate_limit_file("1000", "1000"))
    svc = launch(CONFIG_FILE=str(tmp_path / "config.yaml"))
    assert statuses(svc, 8) == [200] * 8
    # A first change, of a key that needs a restart: the reload names it.
    publish(rate_limit_file("1000", "1000", http_idle_timeout="90s"))
    svc.wait_for_records(
        lambda r: "http_idle_timeout" in json.dumps(r.get("keys")), what="the first change reloaded"
    )
    assert statuses(svc, 8) == [200] * 8
    publish(rate_limit_file("0.001", "2", http_idle_timeout="90s"))
    wait_for_429(svc, "the second change lowered the limit")
    assert svc.running, svc.output()


@pytest.mark.usefixtures("needs_file")
def test_bad_reload_changes_nothing(launch: Launcher, tmp_path: Path) -> None:
    """A reload that fails validation logs an ERROR naming every bad key and changes nothing, not even
    its valid keys: the service keeps serving with the whole configuration it had. The limit is
    lowered first, so that keeping it shows as 429s: a reload that switched the limits off, or
    applied the failed file's high limit, would answer 200s."""
    config = tmp_path / "config.yaml"
    config.write_text(rate_limit_file("1000", "1000"))
    svc = launch(CONFIG_FILE=str(config))
    burst = 3
    config.write_text(rate_limit_file("0.001", str(burst)))
    svc.proc.send_signal(signal.SIGHUP)
    wait_for_429(svc, "SIGHUP lowered the limit")
    config.write_text(rate_limit_file("1000", "1000", log_level="loud", bogus="1"))
    svc.proc.send_signal(signal.SIGHUP)
    record = svc.wait_for_records(lambda r: r.get("level") == "error", what="the failed reload at ERROR")[0]
    keys = json.dumps(record.get("keys"))
    for key in ("log_level", "bogus"):
        assert key in keys, f"the ERROR record's keys do not name {key}: {record}"
    assert "rate_limit_rps" not in keys, f"a valid key is named as bad: {record}"
    # At the kept limit (a burst of 3, then one request in 1000 s) at most a burst passes, then 429s.
    after = statuses(svc, 2 * burst + 2)
    assert after.count(200) <= burst, f"the failed reload changed the limit: {after}"
    assert after[-1] == 429, f"the failed reload changed the limit: {after}"
    assert svc.running, svc.output()


# -- log floods and the second signal ------------------------------------------------------------------

# The contract's bound on alike records (runtime contract, "Logs"): of one kind (an access record of one
# route and status from 429 up to and including 5xx, or a warn or error record of one message), at most
# this many a second are written; the rest are counted in a summary record.
RECORDS_PER_KIND = 10
# The message of a summary record.
SUPPRESSED = "log records suppressed"


def summaries(svc: Service, **fields: Any) -> list[dict[str, Any]]:
    """The summary records whose fields have these values."""
    wanted = fields.items()
    return [r for r in svc.records() if r.get("msg") == SUPPRESSED and all(r.get(k) == v for k, v in wanted)]


def test_a_flood_of_429s_is_summarised(launch: Launcher) -> None:
    """One client past its rate limit for 2 s: the 429s' access records are at most 10 a second, a
    summary record counts the rest under their route and status, and records, summaries and
    http_requests_total all account for every 429 sent."""
    svc = launch(RATE_LIMIT_RPS="1", RATE_LIMIT_BURST="1")
    seconds = 2.0
    statuses = svc.flood("GET", "/version", seconds)
    refused = statuses.count(429)
    assert refused > 20 * RECORDS_PER_KIND, f"only {refused} 429s in {seconds}s: not a flood"

    def accounted() -> tuple[int, int] | None:
        logged = [r for r in svc.access_records() if r["route"] == "/version" and r["status"] == 429]
        summed = sum(r.get("count", 0) for r in summaries(svc, route="/version", status=429))
        return (len(logged), summed) if len(logged) + summed >= refused else None

    logged, summed = poll(accounted, timeout=5, what=f"records and summaries of {refused} 429s")
    assert logged + summed == refused, f"{logged} records and {summed} summarised for {refused} 429s sent"
    # Windows of a second: a flood of `seconds` touches at most seconds + 1 of them.
    bound = RECORDS_PER_KIND * (int(seconds) + 1)
    assert logged <= bound, f"{logged} access records of 429s in {seconds}s: more than {bound}"
    for record in summaries(svc, route="/version", status=429):
        assert type(record["count"]) is int, record
        assert record["count"] > 0, record
        assert record.get("level") == "info", f"a summary has the level of what it counts: {record}"
    metrics = svc.metrics()
    counted = metrics.value("http_requests_total", method="GET", route="/version", code="429")
    assert counted == refused, f"http_requests_total counts {counted} 429s, {refused} were sent"
    suppressed = metrics.value("log_records_suppressed_total", reason="access")
    assert suppressed == summed, f"log_records_suppressed_total{{reason=access}} = {suppressed}, not {summed}"


def test_a_second_signal_exits_at_once_and_loses_no_record(launch: Launcher) -> None:
    """50 requests, then SIGTERM and a second SIGTERM 0.2 s later: the process exits at once, killed by
    that signal, after writing out every access record and one saying the second signal cut the
    shutdown short."""
    svc = launch(LOG_FLUSH_INTERVAL="1s", SHUTDOWN_DRAIN_DELAY="5s")
    ids = [new_request_id("second") for _ in range(50)]
    for rid in ids:
        resp = svc.get("/version", headers={"X-Request-ID": rid})
        assert resp.status == 200, resp.describe()
    svc.terminate()
    time.sleep(0.2)
    svc.proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    code = svc.wait_exit(10)
    took = time.monotonic() - sent
    assert took < 2, f"the second SIGTERM took {took:.1f}s to end the process: not at once"
    assert code == -signal.SIGTERM, f"exit status {code}: the second signal kills the process\n{svc.output()}"
    logged = {r.get("request_id") for r in svc.access_records()}
    lost = [rid for rid in ids if rid not in logged]
    assert not lost, f"{len(lost)} of {len(ids)} access records lost to the second signal\n{svc.output()}"
    cut = [r for r in svc.records() if r.get("msg") == "shutdown cut short by a second signal"]
    assert len(cut) == 1, f"no record says the second signal cut the shutdown short\n{svc.output()}"
    assert cut[0].get("signal") == "terminated", cut[0]
    assert cut[0].get("level") == "error", cut[0]


# -- request bodies in flight, canonical paths, OPTIONS *, profile bounds --------------------------------


def hold_body(svc: Service, declared: int, sent: int) -> socket.socket:
    """Open a connection, send a POST /v1/notes declaring a declared-byte body, send sent bytes of it
    and hold it there: the service keeps reading that body until the connection closes."""
    sock = socket.create_connection(("127.0.0.1", svc.http_port), timeout=REQUEST_TIMEOUT)
    head = (
        f"POST /v1/notes HTTP/1.1\r\nHost: 127.0.0.1:{svc.http_port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    start = b'{"title":"held","body":"'
    sock.sendall(head + start + b"x" * (sent - len(start)))
    return sock


@pytest.mark.usefixtures("needs_example_api")
def test_body_budget_refuses_bodies_past_it_with_503(launch: Launcher) -> None:
    """The request bodies in flight share BODY_BUDGET_BYTES: each reserves its declared length (the
    body limit when unknown) until its handler returns. Once held bodies spend it, one more body is
    refused at once with a 503 problem carrying Retry-After, counted in
    http_body_budget_refusals_total; probes and requests without a body are still served, and once
    the held bodies go, bodies are read again."""
    limit, budget = 4096, 4 * 4096
    svc = launch(MAX_BODY_BYTES=str(limit), BODY_BUDGET_BYTES=str(budget))
    held = [hold_body(svc, declared=limit, sent=limit // 2) for _ in range(budget // limit)]
    try:
        poll(
            lambda: True if svc.metrics().value("http_body_budget_used_bytes") == budget else None,
            timeout=5,
            what=f"the held bodies to reserve all {budget} bytes (http_body_budget_used_bytes)",
        )
        rid = new_request_id("budget")
        start = time.monotonic()
        refused = svc.request(
            "POST",
            "/v1/notes",
            body=json.dumps({"title": "one more", "body": "x"}).encode(),
            headers={"Content-Type": "application/json", "X-Request-ID": rid},
        )
        elapsed = time.monotonic() - start
        assert_problem(refused, 503)
        assert (refused.header("Retry-After") or "").isdigit(), (
            f"a 503 needs Retry-After: {refused.describe()}"
        )
        assert refused.header("X-Request-ID") == rid, refused.describe()
        assert elapsed < 2, f"the refusal took {elapsed:.2f}s: it must come at once"
        assert svc.get("/livez").status == 200, "a probe must answer while the budget is spent"
        assert svc.get("/version").status == 200, "a request without a body needs no budget"
        record = svc.wait_for_access(rid)
        assert (record["status"], record["route"]) == (503, "/v1/notes"), record
        assert svc.metrics().value("http_body_budget_refusals_total") >= 1, "the refusal was not counted"
    finally:
        for sock in held:
            sock.close()
    poll(
        lambda: True if create_note(svc).status == 201 else None,
        timeout=5,
        what="a body to be read again once the held connections closed",
    )
    poll(
        lambda: True if svc.metrics().value("http_body_budget_used_bytes") == 0 else None,
        timeout=5,
        what="the held bodies' budget to be given back (http_body_budget_used_bytes = 0)",
    )


@pytest.mark.parametrize(
    "path",
    [
        "//livez",
        "//version",
        "/./version",
        "/v1/../version",
        "/v1/notes/../notes",
        "/version/.",
        "/version//",
        "/%2e/version",
        "/v1/%2E%2E/version",
    ],
)
def test_path_not_in_canonical_form_is_a_404_problem(service: Service, path: str) -> None:
    """A path with an empty, "." or ".." segment (percent-encoded or not) is answered 404 problem, never
    redirected or served, with the security headers and X-Request-ID, logged and counted as unmatched."""
    rid = new_request_id("path")
    resp = service.get(path, headers={"X-Request-ID": rid})
    assert_problem(resp, 404)
    assert_security_headers(resp, f"GET {path}")
    assert resp.header("X-Request-ID") == rid, resp.describe()
    record = service.wait_for_access(rid)
    assert (record["route"], record["status"]) == ("unmatched", 404), record
    count = service.metrics().value("http_requests_total", method="GET", route="unmatched", code="404")
    assert count >= 1, f"http_requests_total{{method=GET,route=unmatched,code=404}} = {count}"


def raw_request(port: int, request: bytes) -> http.client.HTTPResponse:
    """Send request as given on a new connection and read the whole response."""
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(request)
        resp = http.client.HTTPResponse(sock, method="OPTIONS")
        resp.begin()
        resp.read()
        return resp


@pytest.mark.parametrize("admin", [False, True], ids=["public", "admin"])
def test_options_asterisk_goes_through_the_stack(service: Service, admin: bool) -> None:
    """OPTIONS * is answered by the service like a path no route matches (a 404 problem), not by the
    HTTP server's own 200; on the public listener with the security headers and X-Request-ID, logged
    and counted as unmatched."""
    port = service.admin_port if admin else service.http_port
    rid = new_request_id("options")
    resp = raw_request(
        port, f"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Request-ID: {rid}\r\n\r\n".encode()
    )
    assert resp.status == 404, f"OPTIONS * on the {'admin' if admin else 'public'} listener: {resp.status}"
    media_type = (resp.getheader("Content-Type") or "").split(";")[0]
    assert media_type == "application/problem+json", resp.getheaders()
    if admin:
        return
    assert resp.getheader("X-Content-Type-Options") == "nosniff", resp.getheaders()
    assert resp.getheader("X-Request-ID") == rid, resp.getheaders()
    record = service.wait_for_access(rid)
    assert (record["route"], record["method"]) == ("unmatched", "OPTIONS"), record
    count = service.metrics().value("http_requests_total", method="OPTIONS", route="unmatched", code="404")
    assert count >= 1, f"http_requests_total{{method=OPTIONS,route=unmatched,code=404}} = {count}"


@pytest.mark.parametrize("path", ["/debug/pprof/profile", "/debug/pprof/trace"])
def test_profiles_longer_than_a_minute_are_refused(service: Service, path: str) -> None:
    """The admin listener refuses a profile or trace of more than 60 seconds at once with a 400
    problem; one of a second is served."""
    for seconds in ("61", "1000"):
        start = time.monotonic()
        try:
            resp = service.get(f"{path}?seconds={seconds}", admin=True, timeout=5)
        except TimeoutError:
            pytest.fail(f"{path}?seconds={seconds} was not refused: it was still running after 5s")
        assert time.monotonic() - start < 2, f"{path}?seconds={seconds} must be refused at once"
        assert_problem(resp, 400)
    resp = service.get(f"{path}?seconds=1", admin=True, timeout=10)
    assert resp.status == 200, f"{path}?seconds=1: {resp.status} {resp.body[:200]!r}"


# -- readiness checks as metrics (critical and optional checks) ------------------------------------------


def test_readiness_checks_are_metrics(service: Service) -> None:
    """Every check /readyz names has readiness_check_ok{check}: 1 when it passed, 0 otherwise."""

    def settled() -> tuple[dict[str, Any], Metrics] | None:
        # The checks run in the background: a scrape between two reads of /readyz that agree,
        # after every check's first run, sees the same run of the checks.
        before = service.get("/readyz").json().get("checks") or {}
        metrics = service.metrics()
        after = service.get("/readyz").json().get("checks") or {}
        pending = any(check.get("status") == "pending" for check in after.values())
        return (after, metrics) if before == after and not pending else None

    checks, metrics = poll(settled, timeout=READY_TIMEOUT, what="two reads of /readyz that agree")
    if not checks:
        pytest.skip("this service registers no readiness check (no database, no cache)")
    family = metrics.family("readiness_check_ok")
    assert family is not None, "readiness_check_ok is missing"
    assert family.type == "gauge", f"readiness_check_ok must be a gauge: {family}"
    for name, check in checks.items():
        want = 1.0 if check.get("status") == "ok" else 0.0
        got = [s.value for s in metrics.samples("readiness_check_ok") if s.labels.get("check") == name]
        assert got == [want], f"readiness_check_ok{{check={name!r}}} = {got}, /readyz says {check}"


# -- configuration files: a reload never reads a half-written file as the defaults --------------------
#
# A non-atomic writer truncates the file before it writes the new content: a reload in between must
# not read "no settings" as "every default" (rate limits back at 100/s for a moment), and a key
# written twice must not be settled by whichever the parser keeps.


def hangup(svc: Service) -> None:
    """Ask svc to reload its file by SIGHUP."""
    svc.proc.send_signal(signal.SIGHUP)


def let_the_watch_see_it(svc: Service) -> None:
    """Nothing to do: the service watches the file and reloads when it changes."""


RELOAD_TRIGGERS = [pytest.param(hangup, id="sighup"), pytest.param(let_the_watch_see_it, id="change")]


def reload_outcome(record: dict[str, Any]) -> bool:
    """Whether record tells how a reload ended: INFO `configuration reloaded`, or an ERROR naming
    the bad keys."""
    failed = record.get("level") == "error" and "keys" in record
    return failed or record.get("msg") == "configuration reloaded"


def failed_reload(svc: Service, key: str) -> dict[str, Any]:
    """The ERROR record of a failed reload naming key among its bad keys."""
    return svc.wait_for_records(
        lambda r: r.get("level") == "error" and key in json.dumps(r.get("keys")),
        what=f"a failed reload at ERROR naming {key}",
    )[0]


@pytest.mark.usefixtures("needs_file")
@pytest.mark.parametrize("trigger", RELOAD_TRIGGERS)
@pytest.mark.parametrize("emptied", [pytest.param("", id="empty"), pytest.param("# wip\n\n", id="comments")])
def test_emptied_file_is_refused_on_reload_and_the_lowered_limit_holds(
    launch: Launcher, tmp_path: Path, trigger: Callable[[Service], None], emptied: str
) -> None:
    """A reload lowers the rate limit; the file is then emptied (as a writer that truncates it before
    writing leaves it for a moment) and reloaded: the lowered limit still holds (429s, where the
    defaults or no limit would answer 200), and an ERROR record names CONFIG_FILE."""
    config = tmp_path / "config.yaml"
    config.write_text(rate_limit_file("1000", "1000"))
    svc = launch(CONFIG_FILE=str(config))
    assert statuses(svc, 8) == [200] * 8
    config.write_text(rate_limit_file("0.001", "2"))
    trigger(svc)
    wait_for_429(svc, "a reload lowered the limit")
    outcomes = len(svc.wait_for_records(reload_outcome, what="the lowering reload logged"))
    config.write_text(emptied)
    trigger(svc)
    svc.wait_for_records(reload_outcome, count=outcomes + 1, what="the reload of the emptied file logged")
    got = statuses(svc, 8)
    assert got == [429] * 8, f"the emptied file's reload changed the limits: {got}\n{svc.output()}"
    failed_reload(svc, "CONFIG_FILE")
    assert svc.running, svc.output()


@pytest.mark.usefixtures("needs_file")
@pytest.mark.parametrize("trigger", RELOAD_TRIGGERS)
def test_reload_with_a_key_written_twice_changes_nothing(
    launch: Launcher, tmp_path: Path, trigger: Callable[[Service], None]
) -> None:
    """A reloaded file that writes a key twice (here in two letter cases) is refused like any invalid
    file: an ERROR record names the key, and not even the file's valid lowered limit applies."""
    config = tmp_path / "config.yaml"
    config.write_text(rate_limit_file("1000", "1000"))
    svc = launch(CONFIG_FILE=str(config))
    config.write_text(rate_limit_file("0.001", "2", Rate_Limit_Burst="2"))
    trigger(svc)
    failed_reload(svc, "Rate_Limit_Burst")
    assert statuses(svc, 8) == [200] * 8, "a file with a key written twice was applied"
    assert svc.running, svc.output()


# -- routing: HEAD wherever GET, with every router -------------------------------------------------------


@pytest.mark.parametrize("path", ["/version", "/livez"])
def test_head_is_answered_as_get_without_a_body(service: Service, path: str) -> None:
    """HEAD of a path GET serves gets GET's status and headers and no body, as with ServeMux."""
    get, head = service.get(path), service.request("HEAD", path)
    assert get.status == 200, get.describe()
    assert head.status == 200, f"HEAD {path}: {head.describe()}"
    assert head.body == b"", f"HEAD {path} has a body: {head.describe()}"
    assert head.media_type == get.media_type, f"HEAD {path}: {head.describe()} GET: {get.describe()}"


def test_head_is_counted_under_the_get_route(service: Service) -> None:
    """A HEAD request is labelled with the route of the GET that serves it, not `unmatched`."""
    assert service.request("HEAD", "/version").status == 200
    labels = {"method": "HEAD", "route": "/version", "code": "200"}
    poll(
        lambda: service.metrics().value("http_requests_total", **labels) or None,
        timeout=5,
        what=f"http_requests_total{labels}",
    )


# -- background jobs queued by handlers --------------------------------------------------------------------
#
# With the worker and the example API, creating a note queues one job, "note words", which logs the note's
# word count at debug level ("note words counted", with note_id and words). The job never costs the note:
# the answer is 201 whether or not the queue takes it. WORKER_INTERVAL is an hour in these tests, so that
# the periodic job never runs and every job the worker counts is the note's.

NO_PERIODIC_JOB = {"LOG_LEVEL": "debug", "WORKER_INTERVAL": "1h"}
WORDS_NOTE = {"title": "three words here", "body": "and two"}


@pytest.fixture
def needs_queued_jobs(answers: dict[str, Any]) -> None:
    if not answers["background_worker"]:
        pytest.skip("needs the background worker, which this variant was rendered without")
    if not answers["example_api"]:
        pytest.skip(
            "needs the example API (POST /v1/notes) to queue a job, which this variant was rendered without"
        )


def create_words_note(svc: Service) -> str:
    resp = svc.post_json("/v1/notes", WORDS_NOTE)
    assert resp.status == 201, f"POST /v1/notes: {resp.describe()}"
    note_id: str = resp.json()["id"]
    return note_id


@pytest.mark.usefixtures("needs_queued_jobs")
def test_note_creation_queues_a_job_the_worker_runs(launch: Launcher) -> None:
    """POST /v1/notes queues one job: the worker runs it (worker_jobs_processed_total moves by one, none
    fails), and the job logs the new note's word count."""
    svc = launch(**NO_PERIODIC_JOB)
    assert svc.metrics().value("worker_jobs_processed_total") == 0, "a job ran before any note was created"
    note_id = create_words_note(svc)
    poll(
        lambda: True if svc.metrics().value("worker_jobs_processed_total") >= 1 else None,
        timeout=10,
        what="the note's job to be processed (worker_jobs_processed_total >= 1)",
    )
    metrics = svc.metrics()
    assert metrics.value("worker_jobs_processed_total") == 1, "one note, one job"
    assert metrics.value("worker_jobs_failed_total") == 0, svc.output()
    (counted,) = svc.wait_for_records(
        lambda r: r.get("msg") == "note words counted", what="the job's record of the note's words"
    )
    assert counted.get("note_id") == note_id, counted
    assert counted.get("words") == 5, counted
    (done,) = svc.wait_for_records(lambda r: r.get("msg") == "worker job done", what="the job's outcome")
    assert done.get("job") == "note words", done


# The job is quick by design. To see the shutdown wait for it, the combination is built with the job made
# to last TEST_JOB_DURATION first: its Run calls one function more, added in a file of its own, as
# test_dependencies.py does with the periodic job; nothing else changes.

SLOW_NOTE_JOB_GO = """package notes

import (
\t"context"
\t"os"
\t"time"
)

// lastTestJobDuration makes the note's job last TEST_JOB_DURATION, or until
// ctx is cancelled (the template's shutdown tests only).
func lastTestJobDuration(ctx context.Context) error {
\td, err := time.ParseDuration(os.Getenv("TEST_JOB_DURATION"))
\tif err != nil || d <= 0 {
\t\treturn nil
\t}
\tselect {
\tcase <-time.After(d):
\t\treturn nil
\tcase <-ctx.Done():
\t\treturn ctx.Err()
\t}
}
"""
# The note job's function, whether or not it names its context.
NOTE_JOB_RUN = re.compile(r"Run: func\((?:ctx )?context\.Context\) error \{\n")


@pytest.fixture
def slow_job_binary(
    project: Path, tmp_path_factory: pytest.TempPathFactory, per_project: dict[tuple[str, Path], Any]
) -> Path:
    """The variant's service, built with the note's job lasting TEST_JOB_DURATION."""
    key = ("slow_job_binary", project)
    if key not in per_project:
        copy = tmp_path_factory.mktemp("slow-note-job") / project.name
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".git"))
        jobs = copy / "internal" / "notes" / "jobs.go"
        text = jobs.read_text()
        slowed, found = NOTE_JOB_RUN.subn(
            "Run: func(ctx context.Context) error {\n"
            "\t\tif err := lastTestJobDuration(ctx); err != nil {\n\t\t\treturn err\n\t\t}\n",
            text,
        )
        assert found == 1, f"the note job's Run moved in jobs.go:\n{text}"
        jobs.write_text(slowed)
        (jobs.parent / "slowjob.go").write_text(SLOW_NOTE_JOB_GO)
        name = answers_of(copy)["project_name"]
        out = tmp_path_factory.mktemp("bin") / name
        go(copy, "build", "-trimpath", "-o", str(out), f"./cmd/{name}", env={"CGO_ENABLED": "0"})
        per_project[key] = out
    binary: Path = per_project[key]
    return binary


@pytest.mark.usefixtures("needs_queued_jobs")
def test_shutdown_waits_for_the_job_a_note_queued(
    slow_job_binary: Path, dependency_env: dict[str, str]
) -> None:
    """SIGTERM right after a note's creation (its job lasts 2 s, the shutdown may take 10 s): the job
    runs to its end, and its completion is logged before "shutdown complete"; the service exits 0."""
    launcher = Launcher(slow_job_binary, dependency_env)
    try:
        svc = launcher(**NO_PERIODIC_JOB, TEST_JOB_DURATION="2s", SHUTDOWN_TIMEOUT="10s")
        note_id = create_words_note(svc)
        svc.terminate()
        assert svc.wait_exit(timeout=20) == 0, svc.output()
    finally:
        problems = list(launcher.stop_all())
    assert not problems, problems
    records = svc.records()
    messages = [r.get("msg") for r in records]
    done = [
        i for i, r in enumerate(records) if r.get("msg") == "worker job done" and r.get("job") == "note words"
    ]
    assert len(done) == 1, f"the note's job did not run to its end:\n{svc.output()}"
    assert records[done[0]]["duration_ms"] >= 1900, records[done[0]]
    assert "shutdown complete" in messages, svc.output()
    assert done[0] < messages.index("shutdown complete"), (
        f"the shutdown completed before the job:\n{svc.output()}"
    )
    counted = [r for r in records if r.get("msg") == "note words counted"]
    assert [r.get("note_id") for r in counted] == [note_id], counted
