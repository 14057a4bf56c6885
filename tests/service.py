"""Black-box helpers for the runtime contract tests: run a built service, talk HTTP, read its logs.

Only the standard library and prometheus_client's text parser are used, so the helpers hold for
every variant of the service (any router, logger or configuration backend).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tooling.ports import free_port

# How long the service may take to become ready after it is started.
READY_TIMEOUT = 10.0
# How long one HTTP request may take.
REQUEST_TIMEOUT = 10.0
# How long a log record may take to appear after the response that caused it.
LOG_TIMEOUT = 5.0

# Keys every access-log record carries.
ACCESS_KEYS = frozenset({"request_id", "method", "route", "status", "duration_ms", "bytes"})

LogRecord = dict[str, Any]


def new_request_id(prefix: str = "test") -> str:
    """A fresh, sane request ID, so a test can find the log records of its own request."""
    return f"{prefix}-{uuid.uuid4().hex}"


def clean_env(**overrides: str) -> dict[str, str]:
    """A minimal environment, so that variables of the developer's shell do not leak into the service."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **overrides}


T = TypeVar("T")


def poll(
    probe: Callable[[], T | None], *, timeout: float, interval: float = 0.02, what: str = "condition"
) -> T:
    """Call probe until it returns something other than None; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass(frozen=True)
class Response:
    """A complete HTTP response."""

    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    @property
    def media_type(self) -> str:
        """The Content-Type without its parameters, lower-cased ("" when absent)."""
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise AssertionError(f"response body is not JSON: {self.body[:500]!r}") from exc

    def describe(self) -> str:
        return f"{self.status} {dict(self.headers.items())} {self.body[:500]!r}"


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | Iterable[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = REQUEST_TIMEOUT,
) -> Response:
    """Send one request on a new connection to 127.0.0.1:port and read the whole response."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.headers, data)
    finally:
        conn.close()


@dataclass
class Metrics:
    """One scrape of a Prometheus text exposition."""

    families: list[Any]

    @classmethod
    def parse(cls, text: str) -> Metrics:
        return cls(list(text_string_to_metric_families(text)))

    def family(self, sample_name: str) -> Any | None:
        """The family holding samples named sample_name (or named so itself)."""
        for fam in self.families:
            if fam.name == sample_name or any(s.name == sample_name for s in fam.samples):
                return fam
        return None

    def samples(self, name: str) -> list[Any]:
        return [s for fam in self.families for s in fam.samples if s.name == name]

    def value(self, name: str, **labels: str) -> float:
        """The value of the sample with exactly these label values (0 when there is none)."""
        for s in self.samples(name):
            if all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
        return 0.0

    def label_values(self, label: str) -> set[str]:
        """Every value the label takes, across all samples."""
        return {s.labels[label] for fam in self.families for s in fam.samples if label in s.labels}


@dataclass
class Service:
    """A running service process, its ports and the output it has written so far."""

    binary: Path
    env: dict[str, str]
    http_port: int
    admin_port: int
    proc: subprocess.Popen[str]
    _stdout: list[str] = field(default_factory=list)
    _stderr: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _readers: list[threading.Thread] = field(default_factory=list)

    # -- process -------------------------------------------------------------------------------------------

    @classmethod
    def start(cls, binary: Path, env: dict[str, str]) -> Service:
        http_port, admin_port = free_port(), free_port()
        while admin_port == http_port:
            admin_port = free_port()
        full_env = clean_env(
            HTTP_ADDR=f"127.0.0.1:{http_port}",
            ADMIN_ADDR=f"127.0.0.1:{admin_port}",
            LOG_FORMAT="json",
            # Records reach the log within 50 ms rather than the default second, so that tests
            # waiting for one are quick; the buffer is still in play.
            LOG_FLUSH_INTERVAL="50ms",
            # No drain delay unless a test sets one: every test stops its services, and a delay
            # there would be paid over a thousand times a run.
            SHUTDOWN_DRAIN_DELAY="0s",
        )
        full_env.update(env)
        proc = subprocess.Popen(
            [str(binary)],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        svc = cls(binary, full_env, http_port, admin_port, proc)
        assert proc.stdout is not None
        assert proc.stderr is not None
        for stream, sink in ((proc.stdout, svc._stdout), (proc.stderr, svc._stderr)):
            t = threading.Thread(target=svc._pump, args=(stream, sink), daemon=True)
            t.start()
            svc._readers.append(t)
        return svc

    def _pump(self, stream: Iterable[str], sink: list[str]) -> None:
        for line in stream:
            with self._lock:
                sink.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until GET /readyz answers 200; fail with the service's output if it never does."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._join_readers()
                pytest.fail(
                    f"the service exited with {self.proc.returncode} before it was ready\n{self.output()}"
                )
            try:
                resp = self.get("/readyz", timeout=1.0)
                if resp.status == 200:
                    return
                last = resp.describe()
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.05)
        pytest.fail(f"/readyz did not answer 200 within {timeout}s (last: {last})\n{self.output()}")

    def terminate(self) -> None:
        """Send SIGTERM: the start of a graceful shutdown."""
        self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to exit and for its output to be read; kill it and fail if it hangs."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._join_readers()
            pytest.fail(f"the service did not exit within {timeout}s of SIGTERM; killed it\n{self.output()}")
        self._join_readers()
        return code

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.proc.poll() is None:
            self.terminate()
        return self.wait_exit(timeout)

    def _join_readers(self) -> None:
        for t in self._readers:
            t.join(timeout=5)

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    # -- HTTP ----------------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        admin: bool = False,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Response:
        port = self.admin_port if admin else self.http_port
        return http_request(port, method, path, body=body, headers=headers, timeout=timeout)

    def get(self, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> Response:
        return self.request("GET", path, headers=headers, **kwargs)

    def post_json(self, path: str, payload: Any, *, headers: Mapping[str, str] | None = None) -> Response:
        body = json.dumps(payload).encode()
        return self.request(
            "POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})}
        )

    def flood(
        self,
        method: str,
        path: str,
        seconds: float,
        *,
        clients: int = 4,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[int]:
        """Send the same request on keep-alive connections from several threads for a while (a new
        connection whenever the service closes one); return the status of every answer."""
        until = time.monotonic() + seconds
        statuses: list[int] = []
        lock = threading.Lock()

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
            got: list[int] = []
            try:
                while time.monotonic() < until:
                    conn.request(method, path, body=body, headers=dict(headers or {}))
                    resp = conn.getresponse()
                    resp.read()
                    got.append(resp.status)
                    if resp.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
            finally:
                conn.close()
                with lock:
                    statuses.extend(got)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return statuses

    def metrics(self) -> Metrics:
        resp = self.get("/metrics", admin=True)
        assert resp.status == 200, f"GET /metrics on the admin port: {resp.describe()}"
        return Metrics.parse(resp.body.decode())

    # -- output --------------------------------------------------------------------------------------------

    def stdout_lines(self) -> list[str]:
        with self._lock:
            return list(self._stdout)

    def stderr_text(self) -> str:
        with self._lock:
            return "\n".join(self._stderr)

    def output(self) -> str:
        """stdout and stderr so far, for failure messages."""
        with self._lock:
            out = "\n".join(self._stdout[-60:])
            err = "\n".join(self._stderr[-60:])
        return f"--- stdout (last lines) ---\n{out}\n--- stderr (last lines) ---\n{err}"

    def records(self) -> list[LogRecord]:
        """Every stdout line so far that parses as a JSON object (see test_log_lines_are_json)."""
        result: list[LogRecord] = []
        for line in self.stdout_lines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                result.append(value)
        return result

    def access_records(self, request_id: str | None = None) -> list[LogRecord]:
        """Access-log records (optionally only those of one request)."""
        return [
            r
            for r in self.records()
            if r.keys() >= ACCESS_KEYS and (request_id is None or r.get("request_id") == request_id)
        ]

    def wait_for_records(
        self,
        predicate: Callable[[LogRecord], bool],
        *,
        count: int = 1,
        what: str,
        timeout: float = LOG_TIMEOUT,
    ) -> list[LogRecord]:
        """Wait until at least count log records match predicate, and return those that do."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.records() if predicate(r)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                pytest.fail(
                    f"timed out after {timeout}s waiting for {count} log record(s): {what}\n{self.output()}"
                )
            time.sleep(0.02)

    def wait_for_access(self, request_id: str) -> LogRecord:
        """The access-log record of the request with this ID, once it is written."""
        found = self.wait_for_records(
            lambda r: r.keys() >= ACCESS_KEYS and r.get("request_id") == request_id,
            what=f"access log of request {request_id}",
        )
        return found[0]

    def settle(self) -> None:
        """Make one more API request and wait for its access log, so earlier requests are fully logged."""
        rid = new_request_id("settle")
        resp = self.get("/version", headers={"X-Request-ID": rid})
        assert resp.status == 200, f"GET /version: {resp.describe()}"
        self.wait_for_access(rid)


@dataclass
class Launcher:
    """Starts services for one test and stops them all when it ends."""

    binary: Path
    # What every service it starts gets, before the test's own settings (its dependencies' URLs).
    base_env: dict[str, str] = field(default_factory=dict)
    started: list[Service] = field(default_factory=list)

    def __call__(self, **env: str) -> Service:
        svc = Service.start(self.binary, {**self.base_env, **env})
        self.started.append(svc)
        svc.wait_ready()
        return svc

    def stop_all(self) -> Iterator[str]:
        """Stop every service still running; yield a problem description for each unclean exit."""
        for svc in self.started:
            if not svc.running:
                continue
            svc.terminate()
            try:
                code = svc.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                svc.proc.kill()
                svc.proc.wait()
                svc._join_readers()
                yield f"the service did not exit within 30s of SIGTERM; killed it\n{svc.output()}"
                continue
            svc._join_readers()
            if code != 0:
                yield f"the service exited with {code} after SIGTERM\n{svc.output()}"
