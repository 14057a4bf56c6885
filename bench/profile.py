"""Where the service's CPU time goes under load: a CPU profile from its own pprof endpoint."""

from __future__ import annotations

import http.client
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.project import BenchError

# "Duration: 4s, Total samples = 2.34s (58.49%)", or "= 10ms ( 0.68%)"
TOTAL = re.compile(r"Total samples = \S+ \(\s*([\d.]+)%\)")
# "     0.01s  0.43% 40.60%      0.48s 20.51%  github.com/acme/x/internal/server.NewServer.func1"
ROW = re.compile(r"^\s*\S+\s+[\d.]+%\s+[\d.]+%\s+\S+\s+([\d.]+)%\s+(.+?)\s*$")


@dataclass(frozen=True)
class Profile:
    cpu_percent: float  # of one CPU, over the profile's duration
    functions: list[
        tuple[str, float]
    ]  # the project's own functions and their cumulative share, largest first


def capture(admin_port: int, seconds: int, dest: Path) -> Path:
    """GET /debug/pprof/profile from the admin listener while the caller keeps the service loaded."""
    conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=seconds + 30)
    try:
        conn.request("GET", f"/debug/pprof/profile?seconds={seconds}")
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200 or not body:
        raise BenchError(f"/debug/pprof/profile answered {resp.status}: {body[:300]!r}")
    dest.write_bytes(body)
    return dest


def summarize(path: Path, module: str, count: int = 12) -> Profile:
    """The project's functions (module's packages) by cumulative share of the CPU samples."""
    proc = subprocess.run(
        ["go", "tool", "pprof", "-top", "-cum", "-nodecount=1000", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"go tool pprof could not read {path}:\n{proc.stdout}\n{proc.stderr}")
    return parse_top(proc.stdout, module, count)


def parse_top(text: str, module: str, count: int = 12) -> Profile:
    """Read `go tool pprof -top -cum` output."""
    total = TOTAL.search(text)
    if total is None:
        raise BenchError(f"no sample total in the profile summary:\n{text[:2000]}")
    functions: list[tuple[str, float]] = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m and m.group(2).startswith(f"{module}/"):
            name = m.group(2).removeprefix(f"{module}/").removeprefix("internal/")
            functions.append((name, float(m.group(1))))
    if not functions:
        raise BenchError(f"the CPU profile has no function of {module}: was the service loaded?")
    return Profile(float(total.group(1)), functions[:count])
