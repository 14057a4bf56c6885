"""One benchmark run: every measurement of every variant, in the order that keeps them apart."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import gobench, load, profile, project
from bench.project import BenchError, Variant
from bench.server import LOAD_ENV, RequestCost, Server, http_get, start_to_ready
from tooling import dockerfile

# The route measured under load: the smallest one that goes through the whole middleware stack in every
# variant (the probes /livez and /readyz are mounted outside it).
ROUTE = "/version"


@dataclass(frozen=True)
class Settings:
    quick: bool
    load_seconds: float
    warmup_seconds: float
    rounds: int
    connections: int
    starts: int
    benchtime: str
    copies: int
    warm_copy: bool
    shutdown_connections: int
    shutdown_seconds: float
    shutdown_at: float
    profile_seconds: int

    @classmethod
    def full(cls) -> Settings:
        return cls(
            quick=False,
            load_seconds=8,
            warmup_seconds=3,
            rounds=5,
            connections=64,
            starts=25,
            benchtime="1s",
            copies=3,
            warm_copy=True,
            shutdown_connections=256,
            shutdown_seconds=6,
            shutdown_at=2,
            profile_seconds=5,
        )

    @classmethod
    def short(cls) -> Settings:
        """Every measurement once and briefly: the numbers only show that the harness works."""
        return cls(
            quick=True,
            load_seconds=2,
            warmup_seconds=1,
            rounds=1,
            connections=64,
            starts=5,
            benchtime="100ms",
            copies=1,
            warm_copy=False,
            shutdown_connections=256,
            shutdown_seconds=3,
            shutdown_at=1,
            profile_seconds=2,
        )


@dataclass
class LoadResult:
    bare: list[load.WrkResult]
    stack: list[load.WrkResult]
    access_records: int
    bare_costs: list[RequestCost] = field(default_factory=list)
    stack_costs: list[RequestCost] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """The median over rounds of stack req/s / bare req/s, each pair measured back to back."""
        return statistics.median(s.rps / b.rps for s, b in zip(self.stack, self.bare, strict=True))

    @staticmethod
    def median(runs: list[load.WrkResult], attr: str) -> float:
        return statistics.median(float(getattr(r, attr)) for r in runs)


@dataclass
class VariantResult:
    variant: Variant
    build_command: str = ""
    binary_bytes: int = 0
    bare_binary_bytes: int = 0
    image_bytes: dict[str, int] = field(default_factory=dict)
    benchmarks: list[gobench.GoBenchmark] = field(default_factory=list)
    ready_s: list[float] = field(default_factory=list)
    throughput: LoadResult | None = None
    rss_idle_kib: int = 0
    rss_peak_kib: int = 0
    bare_rss_idle_kib: int = 0
    bare_rss_peak_kib: int = 0
    shutdown: load.ShutdownResult | None = None
    cpu_profile: profile.Profile | None = None
    copy_s: list[float] = field(default_factory=list)
    copy_to_tests_s: list[float] = field(default_factory=list)

    @property
    def stack_cost(self) -> gobench.StackCost | None:
        return gobench.stack_cost(self.benchmarks)

    def access_log_benchmarks(self) -> list[gobench.GoBenchmark]:
        return gobench.access_log(self.benchmarks)


@dataclass
class Run:
    settings: Settings
    machine: dict[str, str]
    results: list[VariantResult]
    seconds: float


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _first_line(args: list[str]) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def template_version() -> str:
    """The checkout's commit, and whether copier also rendered uncommitted changes (untracked files
    included, as copier takes them)."""
    describe = _first_line(["git", "-C", str(project.ROOT), "describe", "--always"])
    status = subprocess.run(
        ["git", "-C", str(project.ROOT), "status", "--porcelain"], capture_output=True, text=True, check=True
    )
    return describe + (" with uncommitted changes" if status.stdout.strip() else "")


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), re.M)
    mem_kib = int(mem.group(1)) if mem else 0
    os_name = "unknown"
    release = Path("/etc/os-release")
    if release.exists():
        m = re.search(r'^PRETTY_NAME="?([^"\n]+)', release.read_text(), re.M)
        os_name = m.group(1) if m else os_name
    return {
        "CPU": f"{models[0] if models else platform.processor()} ({len(models) or os.cpu_count()} cores)",
        "Memory": f"{mem_kib / 1024 / 1024:.1f} GiB" if mem_kib else "unknown",
        "Kernel": f"Linux {platform.release()} ({platform.machine()})",
        "OS": os_name,
        "Go": _first_line(["go", "version"]),
        "wrk": load.wrk_version(),
        "Python": platform.python_version(),
        "copier": importlib.metadata.version("copier"),
        "Template": template_version(),
        "Date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "Load average before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", name)


def measure_load(
    result: VariantResult, service: Path, bare: Path, module: str, work: Path, s: Settings
) -> None:
    script = load.write_script(work)
    logs = work / "logs"
    bare_srv = Server.start("bare", bare, logs, {}, cpu=load.SERVER_CPU)
    stack_srv = Server.start("stack", service, logs, LOAD_ENV, cpu=load.SERVER_CPU)
    try:
        bare_srv.wait_ready(ROUTE)
        stack_srv.wait_ready("/readyz")
        answers = [http_get(srv.port, ROUTE) for srv in (bare_srv, stack_srv)]
        if answers[0] != answers[1] or answers[0][0] != 200:
            raise BenchError(f"the bare server and the service answer {ROUTE} differently: {answers}")
        time.sleep(1)
        result.bare_rss_idle_kib = bare_srv.rss_kib()
        result.rss_idle_kib = stack_srv.rss_kib()
        for srv in (bare_srv, stack_srv):
            load.wrk(script, srv.port, ROUTE, s.connections, s.warmup_seconds)
        bare_runs: list[load.WrkResult] = []
        stack_runs: list[load.WrkResult] = []
        costs: dict[str, list[RequestCost]] = {"bare": [], "stack": []}
        for i in range(s.rounds):
            for srv, runs in ((bare_srv, bare_runs), (stack_srv, stack_runs)):
                before = srv.counters()
                runs.append(load.wrk(script, srv.port, ROUTE, s.connections, s.load_seconds))
                costs[srv.name].append(RequestCost.between(before, srv.counters(), runs[-1].requests))
                log(f"  round {i + 1} {srv.name}: {runs[-1].rps:,.0f} req/s")
        result.bare_rss_peak_kib = bare_srv.rss_kib("VmHWM")
        result.rss_peak_kib = stack_srv.rss_kib("VmHWM")
        # A CPU profile under the same load, after the measured runs: profiling slows the service.
        running = load.start_wrk(script, stack_srv.port, ROUTE, s.connections, s.profile_seconds + 2)
        time.sleep(0.5)
        cpu = profile.capture(stack_srv.admin_port, s.profile_seconds, work / "cpu.pb.gz")
        load.finish_wrk(running, s.profile_seconds + 2)
        result.cpu_profile = profile.summarize(cpu, module)
    finally:
        try:
            bare_srv.stop()
        finally:
            code = stack_srv.stop()
    if code != 0:
        raise BenchError(f"the service exited with {code} after the load:\n{stack_srv.errors()}")
    records = load.count_access_records(stack_srv.log, ROUTE)
    measured = sum(r.requests for r in stack_runs)
    if records < measured:
        raise BenchError(f"{measured} requests answered but only {records} access-log records written")
    result.throughput = LoadResult(bare_runs, stack_runs, records, costs["bare"], costs["stack"])


def measure_variant(variant: Variant, work: Path, s: Settings) -> VariantResult:
    result = VariantResult(variant)
    work.mkdir(parents=True)
    proj = work / "project"
    log(f"{variant.id}: render")
    project.render(variant, proj)
    answers = project.answers_of(proj)

    log(f"{variant.id}: build with the Dockerfile's command, and the bare server")
    bin_dir = work / "bin"
    service, result.build_command = project.build_service(proj, bin_dir)
    bare = project.build_bare(proj, work / "bare", bin_dir)
    result.binary_bytes = service.stat().st_size
    result.bare_binary_bytes = bare.stat().st_size
    base = answers["container_base"]
    for choice in project.available_choices("container_base"):
        if choice not in dockerfile.BASE_IMAGE_BYTES:
            raise BenchError(f"no size known for the base image {choice!r}: add it to tooling/dockerfile.py")
        if choice == base:
            result.image_bytes[choice] = result.binary_bytes + dockerfile.BASE_IMAGE_BYTES[choice]

    log(f"{variant.id}: Go benchmarks")
    result.benchmarks, _ = gobench.run_benchmarks(proj, s.benchtime)

    log(f"{variant.id}: start-to-ready x{s.starts}")
    starts_dir = work / "starts"
    starts_dir.mkdir()
    result.ready_s = start_to_ready(service, starts_dir, s.starts)

    log(f"{variant.id}: load, bare and stack alternately")
    measure_load(result, service, bare, answers["module_path"], work, s)

    log(f"{variant.id}: SIGTERM under load at {s.shutdown_connections} connections")
    srv = Server.start("shutdown", service, work / "logs", LOAD_ENV, cpu=load.SERVER_CPU)
    try:
        srv.wait_ready("/readyz")
    except BenchError:
        srv.stop()
        raise
    result.shutdown = load.sigterm_under_load(
        srv, load.write_script(work), ROUTE, s.shutdown_connections, s.shutdown_seconds, s.shutdown_at
    )

    if s.warm_copy:
        log(f"{variant.id}: copy to passing tests, warm-up")
        project.copy_to_passing_tests(variant, work / "copy-warm")
    for i in range(s.copies):
        log(f"{variant.id}: copy to passing tests {i + 1}/{s.copies}")
        copy_s, total_s = project.copy_to_passing_tests(variant, work / f"copy-{i}")
        result.copy_s.append(copy_s)
        result.copy_to_tests_s.append(total_s)
    return result


def measure(variants: list[Variant], work: Path, s: Settings) -> Run:
    load.check_tools()
    start = time.perf_counter()
    info = machine()
    results = [measure_variant(v, work / _safe(v.id), s) for v in variants]
    info["Load average after"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return Run(s, info, results, time.perf_counter() - start)
