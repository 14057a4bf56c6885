"""The generated project's own Go benchmarks, whatever they are: every Benchmark line is parsed."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.project import BenchError, run

LINE = re.compile(r"^(Benchmark\S+?)(?:-(\d+))?\s+(\d+)\s+(.+)$")
# Any result line of `go test -bench`, however its measurements are written.
RESULT = re.compile(r"^Benchmark\S*\s+\d+\s+\S+ \S+/op")


@dataclass(frozen=True)
class GoBenchmark:
    package: str
    name: str  # without the Benchmark prefix and the -GOMAXPROCS suffix: "Serve/stack"
    iterations: int
    metrics: dict[str, float] = field(default_factory=dict)  # unit -> value: "ns/op", "B/op", "allocs/op"

    @property
    def key(self) -> str:
        """The name lower-cased, for matching roles such as stack and bare."""
        return self.name.lower()

    def metric(self, unit: str) -> float | None:
        return self.metrics.get(unit)


def parse(output: str) -> list[GoBenchmark]:
    results: list[GoBenchmark] = []
    package = ""
    for line in output.splitlines():
        if line.startswith("pkg: "):
            package = line.removeprefix("pkg: ").strip()
            continue
        m = LINE.match(line)
        if not m:
            continue
        fields = m.group(4).split()
        metrics: dict[str, float] = {}
        for value, unit in zip(fields[::2], fields[1::2], strict=False):
            try:
                metrics[unit] = float(value)
            except ValueError:
                break
        if "ns/op" in metrics:
            name = m.group(1).removeprefix("Benchmark")
            results.append(GoBenchmark(package, name, int(m.group(3)), metrics))
    return results


def run_benchmarks(
    project: Path, benchtime: str, pattern: str = ".", packages: str = "./...", count: int = 1
) -> tuple[list[GoBenchmark], str]:
    """The benchmarks of the project matching pattern, with allocations, each run count times (a line
    per run); a failing `go test`, or a result line this module cannot read, raises."""
    args = bench_command(benchtime, pattern, packages, count)
    output = run(args, project)
    return read_all(output), output


def bench_command(benchtime: str, pattern: str = ".", packages: str = "./...", count: int = 1) -> list[str]:
    """The `go test` command of run_benchmarks."""
    args = ["go", "test", "-run", "^$", "-bench", pattern, "-benchmem", f"-benchtime={benchtime}"]
    return [*args, *([f"-count={count}"] if count != 1 else []), packages]


def medians(benchmarks: list[GoBenchmark]) -> list[GoBenchmark]:
    """One benchmark per package and name, in the order first seen: the median of each measurement over
    its runs (go test -count), and the iterations of all of them."""
    runs: dict[tuple[str, str], list[GoBenchmark]] = {}
    for b in benchmarks:
        runs.setdefault((b.package, b.name), []).append(b)
    result: list[GoBenchmark] = []
    for (package, name), group in runs.items():
        units = [u for u in group[0].metrics if all(u in b.metrics for b in group)]
        metrics = {u: statistics.median(b.metrics[u] for b in group) for u in units}
        result.append(GoBenchmark(package, name, sum(b.iterations for b in group), metrics))
    return result


def read_all(output: str) -> list[GoBenchmark]:
    """parse, raising when a result line could not be read (no silent gaps)."""
    found = parse(output)
    results = [line for line in output.splitlines() if RESULT.match(line)]
    if len(results) != len(found):
        raise BenchError(f"{len(results)} benchmark results but {len(found)} read:\n{output}")
    return found


def _pattern(bench: GoBenchmark, role: str) -> str | None:
    """The name with its last mention of role blanked ("Serve/stack" -> "serve/*"), or None."""
    key = bench.key
    at = key.rfind(role)
    return None if at < 0 else key[:at] + "*" + key[at + len(role) :]


@dataclass(frozen=True)
class StackCost:
    stack: GoBenchmark
    bare: GoBenchmark

    def added(self, unit: str) -> float | None:
        s, b = self.stack.metric(unit), self.bare.metric(unit)
        return None if s is None or b is None else s - b


def stack_cost(benchmarks: list[GoBenchmark]) -> StackCost | None:
    """The middleware chain against the bare handler: two benchmarks of one package whose names differ
    only by "stack" and "bare" (BenchmarkStack/BenchmarkBare, BenchmarkServe/stack|bare,
    BenchmarkStackHandler/BenchmarkBareHandler)."""
    for stack in benchmarks:
        pattern = _pattern(stack, "stack")
        if pattern is None:
            continue
        for bare in benchmarks:
            if bare.package == stack.package and _pattern(bare, "bare") == pattern:
                return StackCost(stack, bare)
    return None


# The role of the stack's benchmarks with tracing on: named as the stack's, with "traced..." for "stack"
# (BenchmarkServe/traced-unsampled beside BenchmarkServe/stack). A traced benchmark whose role mentions
# UNSAMPLED is the stack with tracing on and every span dropped by the sampler.
TRACED_ROLE = "traced"
UNSAMPLED = "unsampled"

# The benchmark that measures tracing, run again with -count in the traced variant
# (template/internal/server/bench_test.go.jinja).
TRACING_BENCHMARK = "^BenchmarkServe$"
TRACING_PACKAGE = "./internal/server/"


@dataclass(frozen=True)
class TracingCost:
    stack: GoBenchmark  # the stack with tracing off: no tracing middleware installed
    traced: list[GoBenchmark]

    def role(self, bench: GoBenchmark) -> str:
        """What stands for "stack" in the traced benchmark's name: "traced-unsampled"."""
        pattern = _pattern(self.stack, "stack")
        assert pattern is not None
        head, tail = pattern.split("*", 1)
        return bench.name[len(head) : len(bench.name) - len(tail)]

    def added(self, bench: GoBenchmark, unit: str) -> float | None:
        t, s = bench.metric(unit), self.stack.metric(unit)
        return None if t is None or s is None else t - s

    def ratio(self, bench: GoBenchmark) -> float:
        """Time per request, traced over untraced."""
        return bench.metrics["ns/op"] / self.stack.metrics["ns/op"]

    @property
    def unsampled(self) -> GoBenchmark | None:
        return next((b for b in self.traced if UNSAMPLED in self.role(b).lower()), None)


def tracing_cost(benchmarks: list[GoBenchmark]) -> TracingCost | None:
    """The stack (stack_cost's) and the benchmarks of its package named like it with a role starting
    with "traced" for "stack"; None without both."""
    cost = stack_cost(benchmarks)
    if cost is None:
        return None
    pattern = _pattern(cost.stack, "stack")
    assert pattern is not None
    head, tail = pattern.split("*", 1)
    traced = [
        b
        for b in benchmarks
        if b.package == cost.stack.package
        and len(b.key) >= len(head) + len(TRACED_ROLE) + len(tail)
        and b.key.startswith(head + TRACED_ROLE)
        and b.key.endswith(tail)
    ]
    return TracingCost(cost.stack, traced) if traced else None


def access_log(benchmarks: list[GoBenchmark]) -> list[GoBenchmark]:
    """Benchmarks of writing one access-log line (named AccessLog...)."""
    return [b for b in benchmarks if "accesslog" in b.key.replace("_", "")]


# The example API's benchmark (template/internal/server/notes_bench_test.go.jinja): its two operations
# through the whole public handler. It speaks only HTTP to NewServer, so that the same file measures the
# service rendered from an older commit (--against).
API_BENCHMARK = "Notes"
API_BENCHMARK_FILE = Path("internal/server/notes_bench_test.go")


def api_benchmarks(benchmarks: list[GoBenchmark]) -> dict[str, GoBenchmark]:
    """The example API's benchmarks by operation ("create", "get")."""
    prefix = API_BENCHMARK + "/"
    return {b.name.removeprefix(prefix): b for b in benchmarks if b.name.startswith(prefix)}


def bare(benchmarks: list[GoBenchmark]) -> GoBenchmark | None:
    """The bare net/http handler's benchmark of the same run, if any."""
    cost = stack_cost(benchmarks)
    return None if cost is None else cost.bare
