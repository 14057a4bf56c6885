"""The generated project's own Go benchmarks, whatever they are: every Benchmark line is parsed."""

from __future__ import annotations

import re
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
    project: Path, benchtime: str, pattern: str = ".", packages: str = "./..."
) -> tuple[list[GoBenchmark], str]:
    """The benchmarks of the project matching pattern, with allocations; a failing `go test`, or a
    result line this module cannot read, raises."""
    args = ["go", "test", "-run", "^$", "-bench", pattern, "-benchmem", f"-benchtime={benchtime}", packages]
    output = run(args, project)
    return read_all(output), output


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
