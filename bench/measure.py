"""One benchmark run: every measurement of every variant, in the order that keeps them apart."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shutil
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

# The servers of a load run that are the generated service (the others are baselines): "against" and
# "against-sync" are the default variant rendered from an older commit (--against), run as stack and sync.
SERVICES = ("stack", "sync", "against", "against-sync")


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
    # The variants other than the default: fewer and shorter load rounds, shorter Go benchmarks.
    light_rounds: int
    light_load_seconds: float
    light_benchtime: str
    # The traced variant's BenchmarkServe, run again on its own: this many times, for medians.
    tracing_count: int

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
            light_rounds=3,
            light_load_seconds=5,
            light_benchtime="300ms",
            tracing_count=6,
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
            light_rounds=1,
            light_load_seconds=1,
            light_benchtime="50ms",
            tracing_count=1,
        )


@dataclass
class LoadResult:
    bare: list[load.WrkResult]
    stack: list[load.WrkResult]
    access_records: int
    bare_costs: list[RequestCost] = field(default_factory=list)
    stack_costs: list[RequestCost] = field(default_factory=list)
    # The default variant only: the service with LOG_FLUSH_INTERVAL=0 (every record written at once),
    # and the typical scaffold, in the same rounds.
    sync: list[load.WrkResult] = field(default_factory=list)
    sync_costs: list[RequestCost] = field(default_factory=list)
    scaffold: list[load.WrkResult] = field(default_factory=list)
    scaffold_costs: list[RequestCost] = field(default_factory=list)
    # With --against, the default variant only: the service rendered from the older commit, as stack and
    # as sync, each run next to this checkout's (after it in odd rounds, before it in even ones).
    against: list[load.WrkResult] = field(default_factory=list)
    against_costs: list[RequestCost] = field(default_factory=list)
    against_sync: list[load.WrkResult] = field(default_factory=list)
    against_sync_costs: list[RequestCost] = field(default_factory=list)
    # The other variants: the default run's scaffold / bare, to compare them with the scaffold through bare.
    scaffold_to_bare: float | None = None

    @staticmethod
    def _per_round(top: list[load.WrkResult], bottom: list[load.WrkResult]) -> float | None:
        """The median over rounds of top req/s / bottom req/s, each pair measured in the same round."""
        if not top or not bottom:
            return None
        return statistics.median(t.rps / b.rps for t, b in zip(top, bottom, strict=True))

    @property
    def ratio(self) -> float:
        """The median over rounds of stack req/s / bare req/s, each pair measured back to back."""
        ratio = self._per_round(self.stack, self.bare)
        assert ratio is not None
        return ratio

    @property
    def sync_ratio(self) -> float | None:
        """Synchronous access log / bare."""
        return self._per_round(self.sync, self.bare)

    @property
    def stack_change(self) -> float | None:
        """This checkout's stack / the older commit's, in the same rounds: below 1 is slower."""
        return self._per_round(self.stack, self.against)

    @property
    def sync_change(self) -> float | None:
        """This checkout's sync / the older commit's."""
        return self._per_round(self.sync, self.against_sync)

    @property
    def scaffold_ratio(self) -> float | None:
        """Stack / typical scaffold: measured in the same rounds for the default variant, through bare
        (stack / bare over the default run's scaffold / bare) for the others."""
        measured = self._per_round(self.stack, self.scaffold)
        if measured is not None or self.scaffold_to_bare is None:
            return measured
        return self.ratio / self.scaffold_to_bare

    @property
    def scaffold_to_bare_ratio(self) -> float | None:
        """The typical scaffold / bare, measured here or in the default run."""
        return self._per_round(self.scaffold, self.bare) or self.scaffold_to_bare

    @property
    def scaffold_measured(self) -> bool:
        return bool(self.scaffold)

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
    # With --against, every variant with the example API: its benchmark (gobench.API_BENCHMARK_FILE, this
    # checkout's) run in the service rendered from the older commit, right after this checkout's.
    against_benchmarks: list[gobench.GoBenchmark] = field(default_factory=list)
    # The traced variant only: its BenchmarkServe run again, Settings.tracing_count times, at the full
    # variant's benchtime; the medians of the runs.
    tracing_benchmarks: list[gobench.GoBenchmark] = field(default_factory=list)

    @property
    def stack_cost(self) -> gobench.StackCost | None:
        return gobench.stack_cost(self.benchmarks)

    @property
    def tracing_cost(self) -> gobench.TracingCost | None:
        """The stack untraced and traced, from the run of their own when there was one."""
        return gobench.tracing_cost(self.tracing_benchmarks or self.benchmarks)

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


def machine(against: str | None = None) -> dict[str, str]:
    """What the numbers were measured on, and the commits measured."""
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
        **(
            {"Against": _first_line(["git", "-C", str(project.ROOT), "describe", "--always", against])}
            if against
            else {}
        ),
        "Date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "Load average before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", name)


# The runs of this checkout and of the older commit (--against) that are compared with each other.
AGAINST_PAIRS = (("stack", "against"), ("sync", "against-sync"))


def round_order(names: list[str], i: int) -> list[str]:
    """The order of the servers' runs in round i (from 0). Every second round runs the older commit's
    stack and sync (--against) just before this checkout's rather than just after, so that neither
    side always follows the same run: a run's place in the round can cost it (the previous run's log
    being written back to disk while a synchronous log writes, for instance), and alternating it
    cancels that out of the median of the per-round ratios."""
    order = list(names)
    if i % 2 == 1:
        for this, older in AGAINST_PAIRS:
            if this in order and older in order:
                a, b = order.index(this), order.index(older)
                order[a], order[b] = order[b], order[a]
    return order


def measure_load(
    result: VariantResult,
    servers: dict[str, tuple[Path, dict[str, str]]],
    module: str,
    work: Path,
    s: Settings,
) -> None:
    """Load every server in turn, round after round: "bare" and "stack" always, for the default variant
    "sync" (the service writing every log record at once) and "scaffold" too. Then a CPU profile of the
    stack under load, for the default variant."""
    full = result.variant.full
    rounds, seconds = (s.rounds, s.load_seconds) if full else (s.light_rounds, s.light_load_seconds)
    script = load.write_script(work)
    logs = work / "logs"
    started: dict[str, Server] = {}
    codes: dict[str, int] = {}
    try:
        for name, (binary, env) in servers.items():
            started[name] = Server.start(name, binary, logs, env, cpu=load.SERVER_CPU)
        for name, srv in started.items():
            srv.wait_ready("/readyz" if name in SERVICES else ROUTE)
        answers = {name: http_get(srv.port, ROUTE) for name, srv in started.items()}
        if len(set(answers.values())) != 1 or answers["bare"][0] != 200:
            raise BenchError(f"the servers answer {ROUTE} differently: {answers}")
        time.sleep(1)
        result.bare_rss_idle_kib = started["bare"].rss_kib()
        result.rss_idle_kib = started["stack"].rss_kib()
        for srv in started.values():
            load.wrk(script, srv.port, ROUTE, s.connections, s.warmup_seconds)
        runs: dict[str, list[load.WrkResult]] = {name: [] for name in started}
        costs: dict[str, list[RequestCost]] = {name: [] for name in started}
        for i in range(rounds):
            for name in round_order(list(started), i):
                srv = started[name]
                before = srv.counters()
                runs[name].append(load.wrk(script, srv.port, ROUTE, s.connections, seconds))
                costs[name].append(RequestCost.between(before, srv.counters(), runs[name][-1].requests))
                log(f"  round {i + 1} {name}: {runs[name][-1].rps:,.0f} req/s")
        result.bare_rss_peak_kib = started["bare"].rss_kib("VmHWM")
        result.rss_peak_kib = started["stack"].rss_kib("VmHWM")
        if full:
            # A CPU profile under the same load, after the measured runs: profiling slows the service.
            stack = started["stack"]
            running = load.start_wrk(script, stack.port, ROUTE, s.connections, s.profile_seconds + 2)
            time.sleep(0.5)
            cpu = profile.capture(stack.admin_port, s.profile_seconds, work / "cpu.pb.gz")
            load.finish_wrk(running, s.profile_seconds + 2)
            result.cpu_profile = profile.summarize(cpu, module)
    finally:
        for name, srv in started.items():
            codes[name] = srv.stop()
    for name in SERVICES:
        if name not in started:
            continue
        if codes[name] != 0:
            errors = started[name].errors()
            raise BenchError(f"the service ({name}) exited with {codes[name]} after the load:\n{errors}")
        records = load.count_access_records(started[name].log, ROUTE)
        measured = sum(r.requests for r in runs[name])
        if records < measured:
            raise BenchError(f"{name}: {measured} requests answered, {records} access-log records written")
    result.throughput = LoadResult(
        runs["bare"],
        runs["stack"],
        load.count_access_records(started["stack"].log, ROUTE),
        costs["bare"],
        costs["stack"],
        sync=runs.get("sync", []),
        sync_costs=costs.get("sync", []),
        scaffold=runs.get("scaffold", []),
        scaffold_costs=costs.get("scaffold", []),
        against=runs.get("against", []),
        against_costs=costs.get("against", []),
        against_sync=runs.get("against-sync", []),
        against_sync_costs=costs.get("against-sync", []),
    )


def measure_variant(variant: Variant, work: Path, s: Settings, against: str | None = None) -> VariantResult:
    """Measure one variant; against, a commit, adds the default variant rendered from it to the load
    rounds of the full variant, each of its runs next to this checkout's (see round_order)."""
    result = VariantResult(variant)
    work.mkdir(parents=True)
    proj = work / "project"
    log(f"{variant.id}: render")
    project.render(variant, proj)
    answers = project.answers_of(proj)

    log(f"{variant.id}: build with the Dockerfile's command, and the baselines")
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
    sync_env = {**LOAD_ENV, "LOG_FLUSH_INTERVAL": "0s"}
    servers = {"bare": (bare, {}), "stack": (service, LOAD_ENV)}
    older = None
    if variant.full and against:
        log(f"{variant.id}: render and build {against[:12]}")
        project.render(variant, work / "against", against)
        older, _ = project.build_service(work / "against", bin_dir / "against")
        servers["against"] = (older, LOAD_ENV)
    if variant.full:
        servers["sync"] = (service, sync_env)
        if older is not None:
            servers["against-sync"] = (older, sync_env)
        servers["scaffold"] = (project.build_scaffold(proj, work / "scaffold", bin_dir), {})

    log(f"{variant.id}: Go benchmarks")
    benchtime = s.benchtime if variant.full else s.light_benchtime
    result.benchmarks, _ = gobench.run_benchmarks(proj, benchtime)
    if variant.traced:
        log(f"{variant.id}: the stack untraced and traced, x{s.tracing_count}")
        runs, _ = gobench.run_benchmarks(
            proj, s.benchtime, gobench.TRACING_BENCHMARK, gobench.TRACING_PACKAGE, s.tracing_count
        )
        result.tracing_benchmarks = gobench.medians(runs)
    # Not the traced variant's: the older commit may not know its answers, and its benchmark file would
    # not build there.
    if against and not variant.traced and (proj / gobench.API_BENCHMARK_FILE).exists():
        log(f"{variant.id}: the example API's benchmark in the service rendered from {against[:12]}")
        older_api = work / "against-api"
        project.render(variant, older_api, against)
        shutil.copy(proj / gobench.API_BENCHMARK_FILE, older_api / gobench.API_BENCHMARK_FILE)
        pattern, package = f"^Benchmark{gobench.API_BENCHMARK}$", f"./{gobench.API_BENCHMARK_FILE.parent}/"
        result.against_benchmarks, _ = gobench.run_benchmarks(older_api, benchtime, pattern, package)

    if variant.full:
        log(f"{variant.id}: start-to-ready x{s.starts}")
        starts_dir = work / "starts"
        starts_dir.mkdir()
        result.ready_s = start_to_ready(service, starts_dir, s.starts)

    log(f"{variant.id}: load, {', '.join(servers)} in turn")
    measure_load(result, servers, answers["module_path"], work, s)
    if not variant.full:
        return result

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


def measure(variants: list[Variant], work: Path, s: Settings, against: str | None = None) -> Run:
    """Measure every variant; against, a commit, is measured with the default one (see measure_variant)."""
    load.check_tools()
    start = time.perf_counter()
    info = machine(against)
    results = [measure_variant(v, work / _safe(v.id), s, against) for v in variants]
    # The other variants meet the scaffold through bare: the default run measured scaffold / bare.
    reference = next((r.throughput for r in results if r.throughput and r.throughput.scaffold), None)
    if reference is not None:
        scaffold_to_bare = LoadResult._per_round(reference.scaffold, reference.bare)
        for r in results:
            if r.throughput is not None and not r.throughput.scaffold:
                r.throughput.scaffold_to_bare = scaffold_to_bare
    info["Load average after"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return Run(s, info, results, time.perf_counter() - start)
