"""The service with its real dependencies: PostgreSQL, Redis and a background worker.

Black-box, against docs/runtime-contract.md: each combination is rendered from copier.yml's own
choices, built, migrated with its `migrate` command and run against real servers
(tests/servers.py), which the tests stop and start again under the running service. What a service
needs it declares in .env.example (DATABASE_URL, REDIS_URL).

The combinations are each dependency alone and all of them together. A dependency whose choice
copier.yml still refuses (its validator) is reported as a skip naming it; removing the validator
puts it under test.
"""

from __future__ import annotations

import http.client
import json
import secrets
import select
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from _pytest.mark import ParameterSet

from conftest import Render, answers_of, go, listed_settings
from servers import PostgresServer, RedisServer
from service import Launcher, Response, Service, clean_env, free_port, poll
from tooling.variants import SHAPE_QUESTIONS, Choice, choices, defaults, variant_id

pytestmark = pytest.mark.slow

# The answer that brings each dependency, and the readiness check that names it (None: no check).
DEPENDENCIES: dict[str, tuple[Any, str | None]] = {
    "database": ("postgres", "postgres"),
    "cache": ("redis", "redis"),
    "background_worker": (True, None),
}
# The settings that make the tests quick: readiness checked five times a second, no drain delay.
QUICK = {
    "READINESS_INTERVAL": "200ms",
    "READINESS_TIMEOUT": "1s",
    "SHUTDOWN_DRAIN_DELAY": "0s",
    "SHUTDOWN_TIMEOUT": "10s",
    "LOG_LEVEL": "debug",
}
# Set when the service lists them (.env.example): background jobs come often.
QUICK_IF_LISTED = {"WORKER_INTERVAL": "100ms"}
# A request that needs a dependency that is down is answered within this many seconds.
FAIL_FAST = 3.0
# How long readiness may take to follow a dependency going or coming back (several check runs).
READINESS_FOLLOWS = 10.0
# The shutdown steps in their order; a dependency's step is there only when it is chosen.
SHUTDOWN_STEPS = (
    ("readiness failing", None),
    ("drain delay", None),
    ("http server", None),
    ("worker", "background_worker"),
    ("postgres", "database"),
    ("redis", "cache"),
    ("admin server", None),
    ("log flush", None),
)


def dependency_choices() -> dict[str, Choice]:
    """The choice of copier.yml that brings each dependency (it must exist, available or not)."""
    found: dict[str, Choice] = {}
    for question, (value, _check) in DEPENDENCIES.items():
        matching = [c for c in choices(question) if c.value == value]
        assert matching, f"copier.yml offers no {question}={value}: tests/test_dependencies.py tests it"
        found[question] = matching[0]
    return found


def combinations(*needs: str, any_of: tuple[str, ...] = ()) -> list[ParameterSet]:
    """Each dependency alone, then all together: those holding every question in needs (and one of
    any_of), with the example API and the other answers at their defaults. A combination not yet
    available is a visible skip naming what copier.yml refuses."""
    chosen = dependency_choices()
    base = {name: defaults()[name] for name in SHAPE_QUESTIONS} | {"example_api": True}
    assert any(c.value is True and c.available for c in choices("example_api")), "the notes API is needed"
    params = []
    for combo in [[question] for question in DEPENDENCIES] + [list(DEPENDENCIES)]:
        if not set(needs) <= set(combo) or (any_of and not set(any_of) & set(combo)):
            continue
        answers = base | {question: chosen[question].value for question in combo}
        vid = variant_id(answers)
        marks: list[Any] = [pytest.mark.xdist_group(vid)]
        refused = [f"{q}={chosen[q].value}" for q in combo if not chosen[q].available]
        if refused:
            reason = f"{', '.join(refused)} not yet available (copier.yml's validator refuses it)"
            marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(answers, id=vid, marks=marks))
    assert params, f"no combination holds {needs}"
    return params


# -- fixtures ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    answers: dict[str, Any]
    project: Path
    binary: Path

    def has(self, question: str) -> bool:
        return bool(self.answers[question] == DEPENDENCIES[question][0])


@pytest.fixture(scope="session")
def build(render: Render, tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, Any]], Built]:
    """Render and build a combination, once per test session."""
    cache: dict[str, Built] = {}

    def _build(answers: dict[str, Any]) -> Built:
        vid = variant_id(answers)
        if vid not in cache:
            project = render(answers)
            name = answers_of(project)["project_name"]
            out = tmp_path_factory.mktemp("bin") / name
            go(project, "build", "-trimpath", "-o", str(out), f"./cmd/{name}", env={"CGO_ENABLED": "0"})
            cache[vid] = Built(answers, project, out)
        return cache[vid]

    return _build


@pytest.fixture
def built(combination: dict[str, Any], build: Callable[[dict[str, Any]], Built]) -> Built:
    return build(combination)


@dataclass
class Setup:
    """A built combination, the servers of its dependencies, and the services a test starts (all
    stopped after it, and their output searched for the servers' passwords)."""

    built: Built
    postgres: PostgresServer | None
    redis: RedisServer | None
    launcher: Launcher
    # Answers and other text the service wrote outside its log, searched for passwords too.
    seen: list[str] = field(default_factory=list)
    # Passwords a test made up (a wrong one), searched for like the servers' own.
    made_up: list[str] = field(default_factory=list)

    @property
    def passwords(self) -> list[str]:
        return [s.password for s in (self.postgres, self.redis) if s is not None] + self.made_up

    def urls(self) -> dict[str, str]:
        """DATABASE_URL and REDIS_URL of a fresh database of each server (not migrated)."""
        urls = {}
        if self.postgres is not None:
            urls["DATABASE_URL"] = self.postgres.new_database()
        if self.redis is not None:
            urls["REDIS_URL"] = self.redis.new_url()
        return urls

    def run_migrate(self, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(
                [str(self.built.binary), "migrate"],
                env=clean_env(**env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"`migrate` did not finish within {timeout}s")
        self.seen += [proc.stdout, proc.stderr]
        return proc

    def migrate(self, env: dict[str, str]) -> None:
        proc = self.run_migrate(env)
        assert proc.returncode == 0, f"`migrate` exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"

    def connected(self) -> dict[str, str]:
        """Fresh databases, migrated: the environment of a service connected to them."""
        env = self.urls()
        if "DATABASE_URL" in env:
            self.migrate(env)
        return env

    def start(self, env: dict[str, str], *, ready: bool = True) -> Service:
        listed = listed_settings(self.built.project)
        quick = QUICK | {k: v for k, v in QUICK_IF_LISTED.items() if k in listed}
        svc = Service.start(self.built.binary, quick | env)
        self.launcher.started.append(svc)
        if ready:
            svc.wait_ready()
        else:
            poll(lambda: True if live(svc) else None, timeout=10, what="/livez 200")
        return svc

    def look(self, resp: Response) -> Response:
        """resp, kept to be searched for passwords."""
        self.seen.append(resp.body.decode(errors="replace") + str(dict(resp.headers.items())))
        return resp

    def leaks(self) -> list[str]:
        texts = [*self.seen]
        for svc in self.launcher.started:
            texts += [*svc.stdout_lines(), svc.stderr_text()]
        return [text for text in texts for pw in self.passwords if pw in text]


def live(svc: Service) -> bool:
    """Whether /livez answers 200 (the service may not listen yet); fails if the service exited."""
    assert svc.running, f"the service exited with {svc.proc.returncode}\n{svc.output()}"
    try:
        return svc.get("/livez", timeout=1).status == 200
    except OSError:
        return False


def setup_for(built: Built, request: pytest.FixtureRequest, *, own: bool) -> Iterator[Setup]:
    """Servers of the session (own=False) or dedicated to this test, which may stop them."""
    postgres, redis = ("own_postgres", "own_redis") if own else ("postgres_server", "redis_server")
    setup = Setup(
        built,
        request.getfixturevalue(postgres) if built.has("database") else None,
        request.getfixturevalue(redis) if built.has("cache") else None,
        Launcher(built.binary),
    )
    yield setup
    problems = list(setup.launcher.stop_all())
    leaks = setup.leaks()
    assert not leaks, "a password of DATABASE_URL or REDIS_URL was written out:\n" + "\n".join(leaks[:5])
    if problems:
        pytest.fail("\n\n".join(problems))


@pytest.fixture
def shared(built: Built, request: pytest.FixtureRequest) -> Iterator[Setup]:
    """The combination with the session's servers, which stay up."""
    yield from setup_for(built, request, own=False)


@pytest.fixture
def own(built: Built, request: pytest.FixtureRequest) -> Iterator[Setup]:
    """The combination with servers of its own, which the test may stop and start."""
    yield from setup_for(built, request, own=True)


# -- helpers -------------------------------------------------------------------------------------------


def timed(call: Callable[[], Response]) -> tuple[Response, float]:
    start = time.monotonic()
    resp = call()
    return resp, time.monotonic() - start


def create_note(svc: Service, title: str = "hi") -> Response:
    return svc.post_json("/v1/notes", {"title": title, "body": "x"})


def note_path(created: Response) -> str:
    """The path of the note created (its Location)."""
    assert created.status == 201, f"POST /v1/notes: {created.describe()}"
    location = created.header("Location")
    assert location, f"201 without a Location: {created.describe()}"
    return urlsplit(urljoin("http://127.0.0.1/v1/notes", location)).path


def assert_problem(resp: Response, status: int | None = None) -> None:
    """An RFC 9457 problem: of this status, or any 5xx."""
    ok = resp.status == status if status is not None else 500 <= resp.status < 600
    assert ok, f"expected {status or '5xx'}: {resp.describe()}"
    assert resp.media_type == "application/problem+json", resp.describe()
    assert resp.json().get("status") == resp.status, resp.describe()


def readiness(svc: Service) -> tuple[int, dict[str, Any]]:
    resp = svc.get("/readyz", timeout=5)
    return resp.status, resp.json() if resp.media_type == "application/json" else {}


def unready(svc: Service) -> bool:
    """Whether /readyz answers 503 (the service may not listen yet)."""
    try:
        return svc.get("/readyz", timeout=1).status == 503
    except OSError:
        return False


def check_states(body: dict[str, Any]) -> dict[str, str]:
    checks = body.get("checks") or {}
    return {name: str(c.get("status")) for name, c in checks.items() if isinstance(c, dict)}


def wait_readiness_failing(svc: Service, check: str) -> dict[str, Any]:
    """Wait until /readyz answers 503 naming check as failed; its body."""

    def failing() -> dict[str, Any] | None:
        status, body = readiness(svc)
        return body if status == 503 and check_states(body).get(check) == "fail" else None

    body = poll(failing, timeout=READINESS_FOLLOWS, interval=0.1, what=f"/readyz 503 naming {check} failed")
    assert body.get("status") == "unavailable", body
    return body


def wait_degraded(svc: Service, check: str) -> dict[str, Any]:
    """Wait until /readyz answers 200 degraded, naming check degraded (an optional check that fails
    leaves the service ready); its body."""

    def degraded() -> dict[str, Any] | None:
        status, body = readiness(svc)
        return body if status == 200 and check_states(body).get(check) == "degraded" else None

    what = f"/readyz 200 naming {check} degraded"
    body = poll(degraded, timeout=READINESS_FOLLOWS, interval=0.1, what=what)
    assert body.get("status") == "degraded", body
    return body


def wait_check_down(svc: Service, check: str) -> None:
    """Wait until /readyz names check as failing, critical (fail) or optional (degraded)."""
    poll(
        lambda: True if check_states(readiness(svc)[1]).get(check) in ("fail", "degraded") else None,
        timeout=READINESS_FOLLOWS,
        interval=0.1,
        what=f"/readyz naming {check} failed or degraded",
    )


def wait_ready_again(svc: Service) -> None:
    poll(
        lambda: True if readiness(svc)[0] == 200 else None,
        timeout=READINESS_FOLLOWS,
        interval=0.1,
        what="/readyz 200 again",
    )


def assert_alive(svc: Service) -> None:
    assert svc.running, f"the service exited with {svc.proc.returncode}\n{svc.output()}"
    live = svc.get("/livez", timeout=5)
    assert live.status == 200, f"/livez while a dependency is down: {live.describe()}"


def total(svc: Service, name: str) -> float:
    return sum(s.value for s in svc.metrics().samples(name))


# -- migrations and the API through the cache ------------------------------------------------------------


@pytest.mark.parametrize("combination", combinations(any_of=("database", "cache")))
def test_notes_are_kept_in_the_database_and_read_through_the_cache(shared: Setup) -> None:
    """Before `migrate` a note cannot be stored (5xx, quickly); `migrate` (run twice: the second
    changes nothing) gives the schema; notes are created and read back, through Redis when the
    cache is chosen, and a restarted service still has them when the database is chosen."""
    env = shared.urls()
    built = shared.built
    if built.has("database"):
        svc = shared.start(env)
        resp, took = timed(lambda: create_note(svc))
        shared.look(resp)
        assert_problem(resp)
        assert took < FAIL_FAST, f"POST /v1/notes before the migration took {took:.1f}s"
        assert svc.stop() == 0, svc.output()
        shared.migrate(env)
        shared.migrate(env)

    svc = shared.start(env)
    details = svc.get("/debug/readyz", admin=True)
    shared.look(details)
    expected = {DEPENDENCIES[q][1] for q in ("database", "cache") if built.has(q)}
    assert {k: v for k, v in check_states(details.json()).items() if k in expected} == dict.fromkeys(
        expected, "ok"
    ), details.describe()
    created = shared.look(create_note(svc, "kept"))
    path = note_path(created)
    reads = [shared.look(svc.get(path)) for _ in range(3)]
    assert [r.status for r in reads] == [200] * 3, [r.describe() for r in reads]
    assert reads[-1].json()["title"] == "kept", reads[-1].describe()

    if built.has("cache"):
        assert shared.redis is not None
        assert shared.redis.keys(env["REDIS_URL"]) > 0, "nothing was cached in Redis"
        assert total(svc, "cache_hits_total") >= 1, "reading a note three times hit the cache never"
        assert total(svc, "cache_misses_total") + total(svc, "cache_hits_total") >= 3
    if built.has("database"):
        assert svc.stop() == 0, svc.output()
        if shared.redis is not None:
            shared.redis.flush(env["REDIS_URL"])
        again = shared.start(env)
        resp = shared.look(again.get(path))
        assert resp.status == 200, f"the note was not kept in PostgreSQL: {resp.describe()}"
        assert resp.json()["title"] == "kept", resp.describe()


# -- a dependency goes away under the running service, and comes back ---------------------------------------


@pytest.mark.parametrize("combination", combinations("database"))
def test_database_outage_fails_fast_and_recovers(own: Setup) -> None:
    """PostgreSQL stopped under the service: /readyz 503 naming postgres, /livez 200, the process
    runs on, a note POST is a 503 problem within 3 s; started again: ready by itself, notes work."""
    assert own.postgres is not None
    svc = own.start(own.connected())
    path = note_path(own.look(create_note(svc, "before")))

    own.postgres.stop()
    body = wait_readiness_failing(svc, "postgres")
    if own.built.has("cache"):
        assert check_states(body).get("redis") == "ok", body
    assert_alive(svc)
    for _ in range(3):
        resp, took = timed(lambda: create_note(svc, "while down"))
        own.look(resp)
        assert_problem(resp, 503)
        assert took < FAIL_FAST, f"POST /v1/notes with PostgreSQL down took {took:.1f}s"
    read, took = timed(lambda: svc.get(path))
    own.look(read)
    assert took < FAIL_FAST, f"GET {path} with PostgreSQL down took {took:.1f}s"
    if read.status != 200:  # a cached note may still be served
        assert_problem(read, 503)
    details = own.look(svc.get("/debug/readyz", admin=True))
    assert details.status == 503, details.describe()
    assert_alive(svc)

    own.postgres.start()
    wait_ready_again(svc)
    after = own.look(create_note(svc, "after"))
    assert after.status == 201, f"POST /v1/notes once PostgreSQL is back: {after.describe()}"
    assert own.look(svc.get(note_path(after))).status == 200
    assert own.look(svc.get(path)).status == 200


# The contract's bound on alike records (runtime contract, "Logs"): of one kind, at most this many a
# second are written, and a summary record with this message counts the rest.
RECORDS_PER_KIND = 10
SUPPRESSED = "log records suppressed"


@pytest.mark.parametrize("combination", combinations("database"))
def test_database_outage_under_load_logs_a_bounded_summarised_flood(own: Setup) -> None:
    """PostgreSQL stopped under a burst of note POSTs: each kind of error record (its message, route
    and status) is written at most 10 times a second, summary records count the rest, and the 503s'
    access records and summaries account for every 503 sent, as http_requests_total does."""
    assert own.postgres is not None
    svc = own.start({**own.connected(), "RATE_LIMIT_RPS": "0"})
    own.postgres.stop()
    wait_readiness_failing(svc, "postgres")
    before = len(svc.records())
    seconds = 2.0
    body = json.dumps({"title": "burst", "body": "x"}).encode()
    statuses = svc.flood(
        "POST", "/v1/notes", seconds, body=body, headers={"Content-Type": "application/json"}
    )
    failed = statuses.count(503)
    assert failed > 20 * RECORDS_PER_KIND, f"only {failed} 503s in {seconds}s: not a flood ({set(statuses)})"

    def accounted() -> list[dict[str, Any]] | None:
        records = svc.records()[before:]
        logged = [r for r in records if r.get("route") == "/v1/notes" and r.get("status") == 503]
        access = [r for r in logged if r.get("msg") != SUPPRESSED]
        summed = sum(r.get("count", 0) for r in logged if r.get("msg") == SUPPRESSED)
        return records if len(access) + summed >= failed else None

    records = poll(accounted, timeout=5, what=f"access records and summaries of {failed} 503s")
    access = [r for r in records if r.get("msg") != SUPPRESSED and r.get("status") == 503]
    summaries = [r for r in records if r.get("msg") == SUPPRESSED]
    summed = sum(r["count"] for r in summaries if r.get("route") == "/v1/notes" and r.get("status") == 503)
    assert len(access) + summed == failed, f"{len(access)} records and {summed} summarised for {failed} 503s"
    counted = svc.metrics().value("http_requests_total", method="POST", route="/v1/notes", code="503")
    assert counted >= failed, f"http_requests_total counts {counted} 503s, {failed} were sent"

    # Windows of a second: a burst of `seconds` touches at most seconds + 1 of them.
    bound = RECORDS_PER_KIND * (int(seconds) + 1)
    errors = [r for r in records if r.get("level") == "error" and r.get("msg") != SUPPRESSED]
    kinds: dict[tuple[Any, ...], int] = {}
    for r in errors:
        kind = (r.get("msg"), r.get("route"), r.get("status"))
        kinds[kind] = kinds.get(kind, 0) + 1
    over = {kind: n for kind, n in kinds.items() if n > bound}
    assert not over, f"error records of one kind past {bound} in a {seconds}s burst: {over}"
    assert len(errors) < failed / 4, f"{len(errors)} error records for {failed} failed requests"
    assert all(r.get("level") == "error" for r in summaries if r.get("status") == 503), summaries
    assert_alive(svc)


@pytest.mark.parametrize("combination", combinations("cache"))
def test_cache_outage_keeps_notes_readable_and_recovers(own: Setup) -> None:
    """Redis stopped under the service: /readyz stays 200, degraded, naming redis degraded (the
    service works without its cache, and a Redis every replica shares must not take them all out
    of the load balancer), the admin /debug/readyz gives the error, readiness_check_ok{check="redis"}
    is 0, /livez 200, notes are read from the store within 3 s and a note POST answers within 3 s;
    started again: ok by itself, the cache is used again."""
    assert own.redis is not None
    env = own.connected()
    svc = own.start(env)
    path = note_path(own.look(create_note(svc, "before")))
    assert own.look(svc.get(path)).status == 200

    own.redis.stop()
    body = wait_degraded(svc, "redis")
    if own.built.has("database"):
        assert check_states(body).get("postgres") == "ok", body
    details = own.look(svc.get("/debug/readyz", admin=True))
    assert details.status == 200, details.describe()
    assert details.json().get("status") == "degraded", details.describe()
    redis_details = details.json()["checks"]["redis"]
    assert redis_details.get("status") == "degraded", details.describe()
    assert redis_details.get("error"), f"/debug/readyz without the error: {details.describe()}"
    assert svc.metrics().value("readiness_check_ok", check="redis") == 0, "readiness_check_ok{check=redis}"
    assert_alive(svc)
    read, took = timed(lambda: svc.get(path))
    own.look(read)
    assert read.status == 200, f"GET {path} with Redis down: {read.describe()}"
    assert took < FAIL_FAST, f"GET {path} with Redis down took {took:.1f}s"
    write, took = timed(lambda: create_note(svc, "while down"))
    own.look(write)
    assert took < FAIL_FAST, f"POST /v1/notes with Redis down took {took:.1f}s"
    assert write.status == 201, f"POST /v1/notes with Redis down: {write.describe()}"
    assert own.look(svc.get(note_path(write))).status == 200
    assert readiness(svc)[0] == 200, "the service left the load balancer over its cache"
    assert_alive(svc)

    own.redis.start()
    poll(
        lambda: True if readiness(svc)[1].get("status") == "ok" else None,
        timeout=READINESS_FOLLOWS,
        interval=0.1,
        what="/readyz ok again",
    )
    after = note_path(own.look(create_note(svc, "after")))
    for _ in range(2):
        assert own.look(svc.get(after)).status == 200
    assert own.redis.keys(env["REDIS_URL"]) > 0, "nothing was cached once Redis was back"


def circuit_open(svc: Service) -> bool:
    return svc.metrics().value("cache_circuit_open") == 1


@pytest.mark.parametrize("combination", combinations("cache"))
def test_hung_cache_degrades_and_its_circuit_opens(own: Setup) -> None:
    """Redis hung (SIGSTOP) under the service: /readyz stays 200 naming redis degraded and every
    request is served by the store; after a few failed calls the cache's circuit breaker opens
    (cache_circuit_open 1, calls skipped and counted in cache_skipped_total), so that requests stop
    waiting for the cache; resumed (SIGCONT), the breaker closes by itself and the cache is used
    again (cache hits rise). The latencies before and after the breaker opened are printed."""
    assert own.redis is not None
    env = own.connected()
    svc = own.start(env)
    path = note_path(own.look(create_note(svc, "before")))
    assert own.look(svc.get(path)).status == 200
    assert not circuit_open(svc), "the circuit is open with Redis up"

    own.redis.pause()
    try:
        # Until the breaker opens, each request waits for a cache timeout.
        hung: dict[str, list[float]] = {"GET": [], "POST": []}
        for _ in range(20):
            if circuit_open(svc):
                break
            read, took = timed(lambda: svc.get(path))
            own.look(read)
            assert read.status == 200, f"GET {path} with Redis hung: {read.describe()}"
            hung["GET"].append(took)
            write, took = timed(lambda: create_note(svc, "while hung"))
            own.look(write)
            assert write.status == 201, f"POST /v1/notes with Redis hung: {write.describe()}"
            hung["POST"].append(took)
        assert circuit_open(svc), "20 requests with Redis hung did not open the cache's circuit"
        body = wait_degraded(svc, "redis")
        if own.built.has("database"):
            assert check_states(body).get("postgres") == "ok", body

        skipped_before = total(svc, "cache_skipped_total")
        fast: dict[str, list[float]] = {"GET": [], "POST": []}
        for _ in range(10):
            read, took = timed(lambda: svc.get(path))
            own.look(read)
            assert read.status == 200, f"GET {path} with the circuit open: {read.describe()}"
            fast["GET"].append(took)
            write, took = timed(lambda: create_note(svc, "circuit open"))
            own.look(write)
            assert write.status == 201, f"POST /v1/notes with the circuit open: {write.describe()}"
            fast["POST"].append(took)
        skipped = total(svc, "cache_skipped_total") - skipped_before
        assert skipped > 0, "no cache call was skipped with the circuit open"
        assert readiness(svc)[0] == 200, "the service left the load balancer over its cache"
        opened = [r for r in svc.records() if r.get("msg") == "cache circuit opened"]
        assert len(opened) == 1, f"the opening was logged {len(opened)} times, want once: {opened}"
        assert str(opened[0].get("level")).lower() == "warn", opened[0]
        for method in ("GET", "POST"):
            before, after = statistics.median(hung[method]), statistics.median(fast[method])
            print(
                f"{method} with Redis hung: median {before * 1000:.1f} ms before the circuit opened "
                f"({len(hung[method])} requests), {after * 1000:.1f} ms once open"
            )
    finally:
        own.redis.resume()

    hits = total(svc, "cache_hits_total")

    def closed() -> bool | None:
        own.look(svc.get(path))
        return True if not circuit_open(svc) else None

    poll(closed, timeout=READINESS_FOLLOWS, interval=0.2, what="the cache's circuit to close after SIGCONT")
    for _ in range(3):
        assert own.look(svc.get(path)).status == 200
    assert total(svc, "cache_hits_total") > hits, "the cache was not used again once Redis was back"

    def closing_logged() -> list[dict[str, Any]] | None:
        # INFO records reach stdout within LOG_FLUSH_INTERVAL.
        return [r for r in svc.records() if r.get("msg") == "cache circuit closed"] or None

    closing = poll(closing_logged, timeout=5, interval=0.1, what="the closing of the circuit logged")
    assert len(closing) == 1, f"the closing was logged {len(closing)} times, want once: {closing}"
    assert str(closing[0].get("level")).lower() == "info", closing[0]


@pytest.mark.parametrize("outage", ["stopped", "hung"])
@pytest.mark.parametrize("combination", combinations("cache"))
def test_required_cache_outage_makes_the_service_unready(own: Setup, outage: str) -> None:
    """With CACHE_REQUIRED=true, Redis stopped or hung makes /readyz 503 naming redis failed (the
    notes are still served); back again, the service is ready by itself."""
    assert own.redis is not None
    svc = own.start(own.connected() | {"CACHE_REQUIRED": "true"})
    path = note_path(own.look(create_note(svc, "before")))

    (own.redis.stop if outage == "stopped" else own.redis.pause)()
    try:
        body = wait_readiness_failing(svc, "redis")
        if own.built.has("database"):
            assert check_states(body).get("postgres") == "ok", body
        read = own.look(svc.get(path))
        assert read.status == 200, f"GET {path} with Redis {outage}: {read.describe()}"
        assert_alive(svc)
    finally:
        (own.redis.start if outage == "stopped" else own.redis.resume)()
    wait_ready_again(svc)


@pytest.mark.parametrize(
    ("combination", "question"),
    [
        pytest.param(p.values[0], question, id=f"{p.id}-{question}", marks=p.marks)
        for question in ("database", "cache")
        for p in combinations(question)
    ],
)
def test_starts_without_a_dependency_and_becomes_ready_when_it_comes(own: Setup, question: str) -> None:
    """With a dependency unreachable the service starts all the same: /livez 200, /readyz 503 naming
    it (Redis: with CACHE_REQUIRED=true, which makes the cache's check critical); once the server is
    there, the service becomes ready by itself and notes work."""
    check = DEPENDENCIES[question][1]
    server = own.postgres if question == "database" else own.redis
    assert server is not None
    assert check is not None
    env = own.connected() | ({"CACHE_REQUIRED": "true"} if question == "cache" else {})
    server.stop()
    svc = own.start(env, ready=False)
    wait_readiness_failing(svc, check)
    assert_alive(svc)
    time.sleep(1)  # a few more readiness runs: still alive
    assert_alive(svc)

    server.start()
    wait_ready_again(svc)
    created = own.look(create_note(svc))
    assert own.look(svc.get(note_path(created))).status == 200


# -- secrets ---------------------------------------------------------------------------------------------


def with_password(url: str, password: str) -> str:
    """url with another password."""
    parts = urlsplit(url)
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:{password}@{host}").geturl()


@pytest.mark.parametrize("combination", combinations(any_of=("database", "cache")))
def test_passwords_are_never_written_out(own: Setup, tmp_path: Path) -> None:
    """The passwords of DATABASE_URL and REDIS_URL (from the environment or a _FILE) appear in no log
    line, error message, problem or readiness detail: not when connecting works, nor when the
    password is wrong, nor when the server is down, nor when the URL does not parse."""
    good = own.connected()
    # A wrong password of its own, searched for like the servers' passwords.
    wrong = f"wrong-secret-{secrets.token_hex(8)}"
    own.made_up.append(wrong)
    files = {}
    for name, url in good.items():
        (tmp_path / name).write_text(url + "\n")
        files[f"{name}_FILE"] = str(tmp_path / name)

    svc = own.start(files)
    created = own.look(create_note(svc))
    own.look(svc.get(note_path(created)))
    own.look(svc.get("/debug/readyz", admin=True))
    own.look(svc.get(f"/v1/notes/{secrets.token_hex(16)}"))

    refused = own.start({name: with_password(url, wrong) for name, url in good.items()}, ready=False)
    for question in ("database", "cache"):
        if own.built.has(question):
            wait_check_down(refused, str(DEPENDENCIES[question][1]))
    own.look(refused.get("/debug/readyz", admin=True))
    own.look(create_note(refused))

    if own.postgres is not None:
        where = f"127.0.0.1:{own.postgres.port}/"
        nothing_there = good["DATABASE_URL"].replace(where, f"127.0.0.1:{free_port()}/")
        for url in (with_password(good["DATABASE_URL"], wrong), nothing_there):
            proc = own.run_migrate({"DATABASE_URL": url}, timeout=30)
            assert proc.returncode != 0, f"`migrate` passed with {url}\n{proc.stdout}\n{proc.stderr}"

    for server in (own.postgres, own.redis):
        if server is not None:
            server.stop()
    down = own.start(good, ready=False)
    for question in ("database", "cache"):
        if own.built.has(question):
            wait_check_down(down, str(DEPENDENCIES[question][1]))
    own.look(down.get("/debug/readyz", admin=True))
    own.look(create_note(down))

    # A URL that does not parse: the service may refuse to start (exit 2) or start unready.
    bad = {name: url.replace("@127.0.0.1:", "@127.0.0.1:port-") for name, url in good.items()}
    unparsable = Service.start(own.built.binary, QUICK | bad)
    own.launcher.started.append(unparsable)
    poll(
        lambda: True if not unparsable.running or unready(unparsable) else None,
        timeout=10,
        what="the service to exit or answer /readyz 503 with URLs that do not parse",
    )
    if not unparsable.running:
        assert unparsable.wait_exit(5) != 0, unparsable.output()


# A URL that parses as a URL but that its driver refuses: an sslmode PostgreSQL does not have, a Redis
# database that is not a number. {password} and {host} are filled in.
DRIVER_REFUSED_URLS = {
    "DATABASE_URL": "postgres://app:{password}@{host}/app?sslmode=bogus",
    "REDIS_URL": "redis://:{password}@{host}/abc",
}


@pytest.mark.parametrize("combination", combinations(any_of=("database", "cache")))
@pytest.mark.parametrize("source", ["environment", "file"])
def test_urls_the_drivers_refuse_exit_2_naming_each(shared: Setup, tmp_path: Path, source: str) -> None:
    """A DATABASE_URL or REDIS_URL that its driver refuses, from the variable or from <NAME>_FILE,
    stops the start with exit code 2, named together with another invalid setting (every problem at
    once, not the first driver's error alone), and its password is written nowhere."""
    password = f"refused-secret-{secrets.token_hex(8)}"
    shared.made_up.append(password)
    env = {"LOG_LEVEL": "loud"}
    named = ["LOG_LEVEL"]
    for question, name in (("database", "DATABASE_URL"), ("cache", "REDIS_URL")):
        if not shared.built.has(question):
            continue
        url = DRIVER_REFUSED_URLS[name].format(password=password, host=f"127.0.0.1:{free_port()}")
        if source == "file":
            (tmp_path / name).write_text(url + "\n")
            env[f"{name}_FILE"] = str(tmp_path / name)
        else:
            env[name] = url
        named.append(name)
    svc = Service.start(shared.built.binary, QUICK | env)
    shared.launcher.started.append(svc)
    code = svc.wait_exit(10)
    assert code == 2, f"exit code {code}\n{svc.output()}"
    stderr = svc.stderr_text()
    for name in named:
        assert name in stderr, f"stderr does not name {name}:\n{stderr}"


# -- shutdown --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("combination", combinations())
def test_shutdown_closes_dependencies_in_order(shared: Setup) -> None:
    """SIGTERM with a request in flight (and background jobs running): the request completes, and
    the shutdown steps are logged in the contract's order, each with its duration: http server,
    worker, postgres, redis, admin server, log flush (those the service has)."""
    built = shared.built
    svc = shared.start(shared.connected(), ready=True)
    if built.has("background_worker"):
        poll(
            lambda: True if total(svc, "worker_jobs_processed_total") >= 1 else None,
            timeout=15,
            interval=0.1,
            what="a background job processed (worker_jobs_processed_total >= 1)",
        )
    body = json.dumps({"title": "in flight", "body": "sent in two parts"}).encode()
    head = (
        f"POST /v1/notes HTTP/1.1\r\nHost: 127.0.0.1:{svc.http_port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", svc.http_port), timeout=30) as sock:
        sock.sendall(head + body[:10])
        poll(
            lambda: True if svc.metrics().value("http_requests_in_flight") >= 1 else None,
            timeout=5,
            what="the half-sent request in flight",
        )
        svc.terminate()
        # The listener closes (no drain delay) while the request is still being received.
        poll(lambda: True if not listening(svc.http_port) else None, timeout=5, what="the listener to close")
        assert not select.select([sock], [], [], 0)[0], "the in-flight request was cut"
        sock.sendall(body[10:])
        resp = http.client.HTTPResponse(sock, method="POST")
        resp.begin()
        answer = resp.read()
    assert resp.status == 201, f"the in-flight request got {resp.status}: {answer!r}\n{svc.output()}"
    assert svc.wait_exit(timeout=15) == 0, svc.output()

    steps = [r for r in svc.records() if "step" in r]
    expected = [name for name, question in SHUTDOWN_STEPS if question is None or built.has(question)]
    assert [r["step"] for r in steps] == expected, f"shutdown steps: {steps}"
    for record in steps:
        assert record.get("msg") == "shutdown step done", record
        assert isinstance(record.get("duration_ms"), (int, float)), record
        assert record["duration_ms"] >= 0, record


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


# -- shutdown with a background job running --------------------------------------------------------------
#
# The service offers no setting that makes a job last (its periodic job is quick by design), so these tests
# build the combination with its periodic job made to last TEST_JOB_DURATION first: jobs.go's periodic job
# calls one function more, added in a file of its own, and nothing else changes. The service is then
# driven from outside as usual: SIGTERM while the job runs, read its log.

SLOW_JOB_GO = """package main

import (
	"context"
	"os"
	"time"
)

// lastTestJobDuration makes the periodic job last TEST_JOB_DURATION, or until
// ctx is cancelled (the template's shutdown tests only).
func lastTestJobDuration(ctx context.Context) error {
	d, err := time.ParseDuration(os.Getenv("TEST_JOB_DURATION"))
	if err != nil || d <= 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
"""
PERIODIC_JOB_RUN = "Run: func(context.Context) error {\n"


@pytest.fixture(scope="session")
def build_slow_job(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Built], Built]:
    """A combination built with its periodic job lasting TEST_JOB_DURATION, once per test session."""
    cache: dict[str, Built] = {}

    def _build(built: Built) -> Built:
        vid = variant_id(built.answers)
        if vid not in cache:
            project = tmp_path_factory.mktemp("slow-job") / built.project.name
            shutil.copytree(built.project, project, ignore=shutil.ignore_patterns(".git"))
            name = answers_of(project)["project_name"]
            jobs = project / "cmd" / name / "jobs.go"
            text = jobs.read_text()
            assert text.count(PERIODIC_JOB_RUN) == 1, f"the periodic job's Run moved in jobs.go:\n{text}"
            jobs.write_text(
                text.replace(
                    PERIODIC_JOB_RUN,
                    "Run: func(ctx context.Context) error {\n"
                    "\t\tif err := lastTestJobDuration(ctx); err != nil {\n\t\t\treturn err\n\t\t}\n",
                )
            )
            (project / "cmd" / name / "slowjob.go").write_text(SLOW_JOB_GO)
            out = project / "bin" / name
            go(project, "build", "-trimpath", "-o", str(out), f"./cmd/{name}", env={"CGO_ENABLED": "0"})
            cache[vid] = Built(built.answers, project, out)
        return cache[vid]

    return _build


def start_with_a_running_job(shared: Setup, slow: Built, duration: str, **env: str) -> Service:
    """The slow-job build, started with one worker, once its first job is running (and none done)."""
    setup = Setup(slow, shared.postgres, shared.redis, shared.launcher)
    quick = {"TEST_JOB_DURATION": duration, "WORKER_CONCURRENCY": "1", "WORKER_INTERVAL": "100ms"}
    svc = setup.start(shared.connected() | quick | env, ready=True)
    poll(
        lambda: True if total(svc, "worker_jobs_running") >= 1 else None,
        timeout=15,
        interval=0.05,
        what="a background job running (worker_jobs_running >= 1)",
    )
    assert total(svc, "worker_jobs_processed_total") == 0, "a job finished already: it is not slow"
    return svc


def job_records(svc: Service) -> list[tuple[int, dict[str, Any]]]:
    """(position in the log, record) of the worker's job outcomes and of the `worker` shutdown step."""
    return [
        (i, r)
        for i, r in enumerate(svc.records())
        if r.get("step") == "worker" or str(r.get("msg", "")).startswith("worker job")
    ]


@pytest.mark.parametrize("combination", combinations("background_worker"))
def test_shutdown_waits_for_the_running_job(shared: Setup, build_slow_job: Callable[[Built], Built]) -> None:
    """SIGTERM while a job runs (it lasts 3 s, the shutdown may take 10 s): the job runs to its end,
    and its completion is logged before the `worker` shutdown step ends; the service exits 0."""
    svc = start_with_a_running_job(shared, build_slow_job(shared.built), "3s")
    svc.terminate()
    assert svc.wait_exit(timeout=20) == 0, svc.output()
    records = job_records(svc)
    done = [(i, r) for i, r in records if r.get("msg") == "worker job done"]
    (step,) = [(i, r) for i, r in records if r.get("step") == "worker"]
    assert len(done) == 1, f"one job ran, and ran to its end: {records}"
    assert done[0][1]["duration_ms"] >= 2900, done
    assert done[0][0] < step[0], f"the worker step ended before the running job: {records}"
    assert step[1]["msg"] == "shutdown step done", step
    assert step[1]["duration_ms"] > 0, step


@pytest.mark.parametrize("combination", combinations("background_worker"))
def test_shutdown_cancels_a_job_past_the_deadline(
    shared: Setup, build_slow_job: Callable[[Built], Built]
) -> None:
    """SIGTERM while a job runs that would outlast the shutdown's deadline (SHUTDOWN_TIMEOUT 2 s): its
    context is cancelled at the deadline, the job's failure is logged, and the `worker` step reports the
    cancelled job."""
    svc = start_with_a_running_job(shared, build_slow_job(shared.built), "60s", SHUTDOWN_TIMEOUT="2s")
    svc.terminate()
    code = svc.wait_exit(timeout=20)
    records = job_records(svc)
    failed = [(i, r) for i, r in records if r.get("msg") == "worker job failed"]
    (step,) = [(i, r) for i, r in records if r.get("step") == "worker"]
    assert len(failed) == 1, f"the running job is cancelled and its failure logged: {records}"
    assert "context canceled" in str(failed[0][1].get("error")), failed
    assert failed[0][0] < step[0], f"the worker step ended before the cancelled job returned: {records}"
    assert step[1]["msg"] == "shutdown step failed", step
    assert "cancelled 1 running jobs at the deadline" in str(step[1].get("error")), step
    assert 1500 <= step[1]["duration_ms"] < 5000, step
    assert code != 0, f"a shutdown that cancelled a job exits 0\n{svc.output()}"
