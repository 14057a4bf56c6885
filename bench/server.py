"""Running a built server: free ports, a CPU pin, readiness, resident memory, start-to-ready."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.project import BenchError
from tooling.ports import free_port

READY_TIMEOUT = 10.0
# The pause between two readiness probes while a server starts.
POLL_INTERVAL = 0.0005

# The service's environment under load: the access log as JSON to a file, no drain delay, and a rate
# limit too high to refuse any request but still in the chain. Defaults are otherwise unchanged.
LOAD_ENV = {
    "LOG_FORMAT": "json",
    "SHUTDOWN_DRAIN_DELAY": "0s",
    "RATE_LIMIT_RPS": "1000000000",
    "RATE_LIMIT_BURST": "2147483647",
}


def probe(port: int, path: str, timeout: float = 1.0) -> int | None:
    """The status code of GET path on a new connection, or None when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            head = b""
            while b"\r\n" not in head:
                chunk = conn.recv(256)
                if not chunk:
                    return None
                head += chunk
    except OSError:
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def http_get(port: int, path: str) -> tuple[int, str, bytes]:
    """(status, Content-Type, body) of GET path."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    finally:
        conn.close()


def listen_env(env: dict[str, str]) -> tuple[int, dict[str, str]]:
    """A public port and the environment that puts both listeners on free loopback ports."""
    port, admin = free_port(), free_port()
    while admin == port:
        admin = free_port()
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HTTP_ADDR": f"127.0.0.1:{port}",
        "ADMIN_ADDR": f"127.0.0.1:{admin}",
        **env,
    }
    return port, full_env


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of /proc/<pid>/status in KiB (VmRSS: resident now; VmHWM: peak resident)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise BenchError(f"no {field} in /proc/{pid}/status")


@dataclass(frozen=True)
class Counters:
    """A process's CPU time and system calls so far, from /proc: the server's side of a load run."""

    cpu_s: float
    read_calls: int
    write_calls: int

    @classmethod
    def of(cls, pid: int) -> Counters:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # Fields after the command name (which may hold spaces) end in ')'; utime and stime are
        # fields 14 and 15 of the whole line, in clock ticks.
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])
        io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
        return cls(ticks / os.sysconf("SC_CLK_TCK"), int(io["syscr"]), int(io["syscw"]))


@dataclass(frozen=True)
class RequestCost:
    """What one request cost the server during a load run, on average."""

    cpu_us: float
    read_calls: float
    write_calls: float

    @classmethod
    def between(cls, before: Counters, after: Counters, requests: int) -> RequestCost:
        if requests <= 0:
            raise BenchError("no requests to divide the server's costs by")
        return cls(
            (after.cpu_s - before.cpu_s) * 1e6 / requests,
            (after.read_calls - before.read_calls) / requests,
            (after.write_calls - before.write_calls) / requests,
        )


@dataclass
class Server:
    """A server process started by the benchmark, its port and its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    admin_port: int
    log: Path
    _files: tuple[IO[bytes], IO[bytes]]

    @classmethod
    def start(
        cls, name: str, binary: Path, log_dir: Path, env: dict[str, str], *, cpu: int | None = None
    ) -> Server:
        """Start binary on free ports with stdout to a file, pinned to one CPU when cpu is given."""
        port, full_env = listen_env(env)
        log_dir.mkdir(parents=True, exist_ok=True)
        stdout = (log_dir / f"{name}.log").open("wb")
        stderr = (log_dir / f"{name}.err").open("wb")
        args = [str(binary)] if cpu is None else ["taskset", "-c", str(cpu), str(binary)]
        proc = subprocess.Popen(args, env=full_env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        admin = int(full_env["ADMIN_ADDR"].rsplit(":", 1)[1])
        return cls(name, proc, port, admin, log_dir / f"{name}.log", (stdout, stderr))

    def wait_ready(self, path: str, timeout: float = READY_TIMEOUT) -> float:
        """Poll GET path until it answers 200; return the seconds it took from now."""
        start = time.perf_counter()
        deadline = start + timeout
        while True:
            if probe(self.port, path) == 200:
                return time.perf_counter() - start
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n{self.errors()}")
            if time.perf_counter() > deadline:
                raise BenchError(f"{self.name}: {path} did not answer 200 within {timeout}s\n{self.errors()}")
            time.sleep(POLL_INTERVAL)

    def errors(self) -> str:
        path = self.log.with_suffix(".err")
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def rss_kib(self, field: str = "VmRSS") -> int:
        return rss_kib(self.proc.pid, field)

    def counters(self) -> Counters:
        return Counters.of(self.proc.pid)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; kill and raise if the process does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise BenchError(f"{self.name} did not exit within {timeout}s of SIGTERM") from None
        finally:
            for f in self._files:
                f.close()
        return code


def start_to_ready(binary: Path, log_dir: Path, starts: int) -> list[float]:
    """Seconds from exec to the first 200 from /readyz, once per start."""
    times: list[float] = []
    for i in range(starts):
        port, full_env = listen_env({"LOG_FORMAT": "json", "SHUTDOWN_DRAIN_DELAY": "0s"})
        with (log_dir / f"start-{i}.log").open("wb") as out:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [str(binary)], env=full_env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
            try:
                while probe(port, "/readyz") != 200:
                    if proc.poll() is not None:
                        raise BenchError(f"the service exited with {proc.returncode} before it was ready")
                    if time.perf_counter() - start > READY_TIMEOUT:
                        raise BenchError(f"/readyz did not answer 200 within {READY_TIMEOUT}s")
                    time.sleep(POLL_INTERVAL)
                times.append(time.perf_counter() - start)
            finally:
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(timeout=30)
        if code != 0:
            raise BenchError(f"the service exited with {code} after SIGTERM (start {i})")
    return times
