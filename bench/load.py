"""Load with wrk: throughput and latency of one route, and a SIGTERM in the middle of a run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.project import BenchError
from bench.server import Server

# wrk's done() hook prints its summary as one JSON line, so nothing depends on wrk's text layout.
SUMMARY_SCRIPT = """\
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCH-SUMMARY {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

# The CPUs of the server and of the load generator.
SERVER_CPU = 0
LOAD_CPU = 1


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    connect_errors: int
    read_errors: int
    write_errors: int
    status_errors: int  # responses other than 2xx or 3xx
    timeouts: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk_version() -> str:
    proc = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (proc.stdout + proc.stderr).strip().splitlines()
    if not first:
        raise BenchError("wrk -v printed nothing")
    return first[0].split(" Copyright")[0]


def check_tools() -> None:
    for tool in ("wrk", "taskset", "go"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed (wrk: apt-get install wrk)")
    if len(os.sched_getaffinity(0)) < 2:
        raise BenchError("the load benchmark needs two CPUs: one for the server, one for wrk")


def _wrk_args(script: Path, port: int, path: str, connections: int, seconds: float) -> list[str]:
    return [
        "taskset",
        "-c",
        str(LOAD_CPU),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
    ]


def parse_wrk(output: str) -> WrkResult:
    lines = [line for line in output.splitlines() if line.startswith("BENCH-SUMMARY ")]
    if len(lines) != 1:
        raise BenchError(f"wrk printed no summary:\n{output}")
    s = json.loads(lines[0].removeprefix("BENCH-SUMMARY "))
    if s["duration_us"] <= 0:
        raise BenchError(f"wrk reported no duration:\n{output}")
    return WrkResult(
        requests=s["requests"],
        seconds=s["duration_us"] / 1e6,
        connect_errors=s["connect"],
        read_errors=s["read"],
        write_errors=s["write"],
        status_errors=s["status"],
        timeouts=s["timeout"],
        p50_ms=s["p50_us"] / 1000,
        p99_ms=s["p99_us"] / 1000,
    )


def start_wrk(script: Path, port: int, path: str, connections: int, seconds: float) -> subprocess.Popen[str]:
    """Start wrk on its own CPU; finish_wrk collects it."""
    return subprocess.Popen(
        _wrk_args(script, port, path, connections, seconds),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_wrk(proc: subprocess.Popen[str], seconds: float) -> WrkResult:
    """Wait for wrk; a run with errors or refused answers is not a measurement."""
    out, err = proc.communicate(timeout=seconds + 60)
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}):\n{out}\n{err}")
    result = parse_wrk(out)
    errors = (result.connect_errors, result.read_errors, result.write_errors)
    if result.requests == 0 or any(errors) or result.status_errors or result.timeouts:
        raise BenchError(f"the load run had errors or no requests:\n{out}")
    return result


def wrk(script: Path, port: int, path: str, connections: int, seconds: float) -> WrkResult:
    """One wrk run on its own CPU."""
    return finish_wrk(start_wrk(script, port, path, connections, seconds), seconds)


def write_script(directory: Path) -> Path:
    path = directory / "summary.lua"
    path.write_text(SUMMARY_SCRIPT)
    return path


@dataclass(frozen=True)
class ShutdownResult:
    connections: int
    sent_at_s: float  # seconds into the wrk run when SIGTERM was sent
    exit_code: int
    exit_ms: float  # SIGTERM to process exit
    answered: int  # responses wrk read
    logged: int  # access-log records the service wrote
    status_errors: int
    timeouts: int
    connect_errors: int
    read_errors: int
    write_errors: int

    @property
    def lost(self) -> int:
        """Responses the service logged that never reached wrk."""
        return self.logged - self.answered

    @property
    def failed(self) -> int:
        """Requests the service took in and did not answer with a 2xx: lost, error status or timed out,
        plus one for an unclean exit (Shutdown cuts connections only when its deadline passes)."""
        return self.lost + self.status_errors + self.timeouts + (self.exit_code != 0)


def count_access_records(log: Path, route: str) -> int:
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("route") == route and "status" in record:
            count += 1
    return count


def sigterm_under_load(
    server: Server, script: Path, path: str, connections: int, seconds: float, at: float
) -> ShutdownResult:
    """Run wrk for `seconds` and send the server SIGTERM `at` seconds in; the server must be gone well
    before wrk stops, so that no request is still in flight when wrk counts."""
    exited = threading.Event()
    exit_time: list[float] = []

    def waiter() -> None:
        server.proc.wait()
        exit_time.append(time.perf_counter())
        exited.set()

    wrk_proc = start_wrk(script, server.port, path, connections, seconds)
    started = time.perf_counter()
    threading.Thread(target=waiter, daemon=True).start()
    time.sleep(at)
    sent = time.perf_counter()
    server.proc.send_signal(signal.SIGTERM)
    out, err = wrk_proc.communicate(timeout=seconds + 60)
    if wrk_proc.returncode != 0:
        raise BenchError(f"wrk failed ({wrk_proc.returncode}):\n{out}\n{err}")
    if not exited.wait(timeout=1):
        server.stop()
        raise BenchError("the service was still running when wrk stopped: no shutdown was measured")
    exit_code = server.stop()
    result = parse_wrk(out)
    if exit_time[0] - started > seconds - 0.5:
        raise BenchError("the service exited less than 0.5 s before wrk stopped: make the run longer")
    logged = count_access_records(server.log, path)
    if logged == 0 or result.requests == 0:
        raise BenchError(f"no request went through before SIGTERM:\n{out}")
    shutdown = ShutdownResult(
        connections=connections,
        sent_at_s=sent - started,
        exit_code=exit_code,
        exit_ms=(exit_time[0] - sent) * 1000,
        answered=result.requests,
        logged=logged,
        status_errors=result.status_errors,
        timeouts=result.timeouts,
        connect_errors=result.connect_errors,
        read_errors=result.read_errors,
        write_errors=result.write_errors,
    )
    if shutdown.lost < 0:
        raise BenchError(f"wrk read {result.requests} responses but the access log has only {logged}")
    return shutdown
