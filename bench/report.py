"""docs/performance.md and its chart, from one run's results.

Only the text between the markers is generated; what the maintainers wrote around it stays.
"""

from __future__ import annotations

import math
import shlex
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from bench import gobench
from bench.load import WrkResult
from bench.measure import ROUTE, LoadResult, Run, Settings, VariantResult
from bench.project import COMPARED_QUESTIONS, TRACED, BenchError
from bench.server import RequestCost

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    name: str
    limit: str
    # The measured value shown, and whether it meets the target; None when it was not measured.
    check: Callable[[VariantResult], tuple[str, bool] | None]


def _ratio(r: VariantResult) -> tuple[str, bool] | None:
    return None if r.throughput is None else (f"{r.throughput.ratio:.2f}x", r.throughput.ratio >= 0.85)


def _scaffold(r: VariantResult) -> tuple[str, bool] | None:
    ratio = None if r.throughput is None else r.throughput.scaffold_ratio
    if ratio is None:
        return None
    assert r.throughput is not None
    how = "" if r.throughput.scaffold_measured else " (via bare)"
    return f"{ratio:.2f}x{how}", ratio >= 1.25


def _sync(r: VariantResult) -> tuple[str, bool] | None:
    ratio = None if r.throughput is None else r.throughput.sync_ratio
    return None if ratio is None else (f"{ratio:.2f}x", ratio >= 0.75)


def _added_ns(r: VariantResult) -> tuple[str, bool] | None:
    cost = r.stack_cost
    added = None if cost is None else cost.added("ns/op")
    return None if added is None else (f"{added / 1000:.2f} µs", added <= 1000)


def _allocs(r: VariantResult) -> tuple[str, bool] | None:
    cost = r.stack_cost
    added = None if cost is None else cost.added("allocs/op")
    return None if added is None else (f"{added:g}", added <= 3)


def _tracing_ns(r: VariantResult) -> tuple[str, bool] | None:
    cost = r.tracing_cost
    unsampled = None if cost is None else cost.unsampled
    added = None if cost is None or unsampled is None else cost.added(unsampled, "ns/op")
    return None if added is None else (f"{added / 1000:.2f} µs", added <= 500)


def _tracing_allocs(r: VariantResult) -> tuple[str, bool] | None:
    cost = r.tracing_cost
    unsampled = None if cost is None else cost.unsampled
    added = None if cost is None or unsampled is None else cost.added(unsampled, "allocs/op")
    return None if added is None else (f"{added:g}", added <= 3)


def _ready(r: VariantResult) -> tuple[str, bool] | None:
    if not r.ready_s:
        return None
    median = statistics.median(r.ready_s) * 1000
    return f"{median:.1f} ms", median <= 20


def _binary(r: VariantResult) -> tuple[str, bool] | None:
    return f"{r.binary_bytes / MIB:.2f} MiB", r.binary_bytes <= 12 * MIB


def _rss(r: VariantResult) -> tuple[str, bool] | None:
    return f"{r.rss_idle_kib / 1024:.1f} MiB", r.rss_idle_kib <= 15 * 1024


def _sigterm(r: VariantResult) -> tuple[str, bool] | None:
    return None if r.shutdown is None else (str(r.shutdown.failed), r.shutdown.failed == 0)


TARGETS = (
    Target("Throughput, full stack / bare net/http", ">= 0.85x", _ratio),
    Target("Throughput, full stack / typical scaffold", ">= 1.25x", _scaffold),
    Target("Throughput, synchronous access log / bare", ">= 0.75x", _sync),
    Target("Time per request added by the stack (Go benchmark)", "<= 1 µs", _added_ns),
    Target("Allocations per request added by the stack", "<= 3", _allocs),
    Target("Time per request added by tracing, unsampled (Go benchmark)", "<= 0.5 µs", _tracing_ns),
    Target("Allocations per request added by tracing, unsampled", "<= 3", _tracing_allocs),
    Target("Start to ready, median", "<= 20 ms", _ready),
    Target("Binary size (Dockerfile flags)", "<= 12 MiB", _binary),
    Target("Resident memory, idle", "<= 15 MiB", _rss),
    Target("Failed requests on SIGTERM under load", "0", _sigterm),
)


# With --against: this checkout's throughput over the older commit's, run back to back in each round.
# Two servers compared so are read to within about 0.05x (docs/performance.md, round two).
NO_REGRESSION = 0.95


def _stack_change(r: VariantResult) -> tuple[str, bool] | None:
    change = None if r.throughput is None else r.throughput.stack_change
    return None if change is None else (f"{change:.2f}x", change >= NO_REGRESSION)


def _sync_change(r: VariantResult) -> tuple[str, bool] | None:
    change = None if r.throughput is None else r.throughput.sync_change
    return None if change is None else (f"{change:.2f}x", change >= NO_REGRESSION)


AGAINST_TARGETS = (
    Target("Throughput, full stack / the same at --against", f">= {NO_REGRESSION:.2f}x", _stack_change),
    Target(
        "Throughput, synchronous access log / the same at --against", f">= {NO_REGRESSION:.2f}x", _sync_change
    ),
)


def _against(run: Run) -> LoadResult | None:
    """The load runs of the variant measured with the older commit (--against), if any."""
    return next(
        (r.throughput for r in run.results if r.throughput is not None and r.throughput.against), None
    )


def targets(run: Run) -> tuple[Target, ...]:
    """The targets, with those against the older commit when the run measured one."""
    return TARGETS + AGAINST_TARGETS if _against(run) is not None else TARGETS


def target_cell(target: Target, r: VariantResult) -> str:
    outcome = target.check(r)
    if outcome is None:
        return "not measured"
    value, ok = outcome
    return f"{value} {'pass' if ok else '**FAIL**'}"


def failures(run: Run) -> list[str]:
    """Each target a variant misses, as `variant: target (value)`."""
    missed: list[str] = []
    for r in run.results:
        for t in targets(run):
            outcome = t.check(r)
            if outcome is not None and not outcome[1]:
                missed.append(f"{r.variant.id}: {t.name} {t.limit} (measured {outcome[0]})")
    return missed


def _rps(runs: list[WrkResult]) -> str:
    return f"{statistics.median(r.rps for r in runs):,.0f}" if runs else ""


def _cost_cells(bare: list[RequestCost], stack: list[RequestCost]) -> list[str]:
    def med(costs: list[RequestCost], attr: str) -> float:
        return statistics.median(getattr(c, attr) for c in costs)

    return [
        f"{med(bare, 'cpu_us'):.1f} / {med(stack, 'cpu_us'):.1f}",
        f"{med(bare, 'read_calls'):.2f} / {med(stack, 'read_calls'):.2f}",
        f"{med(bare, 'write_calls'):.2f} / {med(stack, 'write_calls'):.2f}",
    ]


def _against_turns(run: Run) -> str:
    if _against(run) is None:
        return ""
    return (
        ", the older commit's stack and sync next to this checkout's (after them in odd rounds, before "
        "them in even ones)"
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f}"


def _pct(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def generated_section(run: Run, chart_name: str) -> str:
    s = run.settings
    ids = [r.variant.id for r in run.results]
    out = [
        BEGIN,
        "",
        f"Generated by `nox -s bench{' -- --quick' if s.quick else ''}` in {run.seconds / 60:.1f} minutes; "
        "the text between the bench markers is replaced on each run.",
        "",
        "### Machine",
        "",
        *_table(["", ""], [[k, v] for k, v in run.machine.items()]),
        *_busy_warning(run),
        "### Targets",
        "",
        "The targets are set for the default variant; every variant is checked against those it was "
        "measured for. The default variant is measured in full; the others (the default with "
        f"{', '.join(f'`{k}={v}`' for k, v in TRACED.items())}, and every combination of "
        f"{' and '.join(f'`{q}`' for q in COMPARED_QUESTIONS)}) for throughput, the Go benchmarks, size "
        "and memory; tracing's targets are the traced variant's. The typical scaffold is measured with "
        "the default variant, in the same rounds; the other variants meet it through bare net/http "
        "(their stack / bare over the scaffold's).",
        "",
        *_table(
            ["Target", "Limit", *ids],
            [[t.name, t.limit, *(target_cell(t, r) for r in run.results)] for t in targets(run)],
        ),
        f"![Throughput ratio and allocations per variant]({chart_name})",
        "",
        f"### Load: GET {ROUTE}",
        "",
        f"wrk, 1 thread, {s.connections} connections, {s.load_seconds:g} s per run after a "
        f"{s.warmup_seconds:g} s warm-up, for {s.rounds} round(s) for the default variant (bare, stack, "
        f"sync, scaffold in turn{_against_turns(run)}) and {s.light_rounds} round(s) of "
        f"{s.light_load_seconds:g} s for the "
        "others (bare, stack); server on CPU 0, wrk on CPU 1. Medians over the rounds; a ratio is the "
        "median of the per-round ratios. Stack: the service with its defaults, access log as JSON to a "
        "file, records buffered for at most LOG_FLUSH_INTERVAL (1 s). Sync: the same service with "
        "LOG_FLUSH_INTERVAL=0, one write per record. Scaffold: a typical Go scaffold's chi service, chi's "
        "RequestID, Logger (a text line per request, to a file, unbuffered) and Recoverer, the same route "
        "and JSON.",
        "",
    ]
    rows = []
    for r in run.results:
        if r.throughput is None:
            continue
        t, m = r.throughput, r.throughput.median
        rows.append(
            [
                r.variant.id,
                _rps(t.bare),
                _rps(t.stack),
                _rps(t.sync),
                _rps(t.scaffold),
                f"{t.ratio:.2f}x",
                "" if t.sync_ratio is None else f"{t.sync_ratio:.2f}x",
                "" if t.scaffold_ratio is None else f"{t.scaffold_ratio:.2f}x",
                f"{m(t.bare, 'p50_ms'):.2f} / {m(t.bare, 'p99_ms'):.2f}",
                f"{m(t.stack, 'p50_ms'):.2f} / {m(t.stack, 'p99_ms'):.2f}",
                f"{t.access_records:,}",
            ]
        )
    out += _table(
        [
            "Variant",
            "bare req/s",
            "stack req/s",
            "sync req/s",
            "scaffold req/s",
            "stack / bare",
            "sync / bare",
            "stack / scaffold",
            "bare p50 / p99 ms",
            "stack p50 / p99 ms",
            "access-log records",
        ],
        rows,
    )
    out += [
        "What each request cost the server during those runs (medians over the rounds): CPU time "
        "(user and system, from /proc/<pid>/stat) and read and write system calls (/proc/<pid>/io). "
        "The server is pinned to one CPU, so its CPU time per request sets its throughput.",
        "",
    ]
    cost_rows = []
    for r in run.results:
        if r.throughput is None or not r.throughput.stack_costs:
            continue
        cell = _cost_cells(r.throughput.bare_costs, r.throughput.stack_costs)
        cost_rows.append([r.variant.id, *cell])
        for name, costs in (("sync", r.throughput.sync_costs), ("scaffold", r.throughput.scaffold_costs)):
            if costs:
                cost_rows.append([f"{r.variant.id}, {name}", *_cost_cells(r.throughput.bare_costs, costs)])
    out += _table(
        [
            "Variant",
            "CPU µs/request bare / stack",
            "reads/request bare / stack",
            "writes/request bare / stack",
        ],
        cost_rows,
    )
    out += _against_section(run)

    out += [
        "### Go benchmarks",
        "",
        f"`go test -run '^$' -bench . -benchmem -benchtime={s.benchtime} ./...` in the generated project.",
        "",
    ]
    for r in run.results:
        cost = r.stack_cost
        if cost is None:
            summary = "no stack/bare benchmark pair"
        else:
            parts = [
                f"{cost.added(u):+g} {u}" for u in ("ns/op", "B/op", "allocs/op") if cost.added(u) is not None
            ]
            summary = f"the stack adds {', '.join(parts)} (`{cost.stack.name}` against `{cost.bare.name}`)"
        logs = ", ".join(f"`{b.name}`" for b in r.access_log_benchmarks()) or "none"
        out += [f"- {r.variant.id}: {summary}; access-log line benchmarks: {logs}."]
    out.append("")
    bench_rows = [
        [
            r.variant.id,
            f"`{b.package.rsplit('/', 1)[-1]}`",
            f"`{b.name}`",
            f"{b.metrics['ns/op']:,.1f}",
            _num(b.metric("B/op")),
            _num(b.metric("allocs/op")),
        ]
        for r in run.results
        for b in r.benchmarks
    ]
    if bench_rows:
        out += _table(["Variant", "Package", "Benchmark", "ns/op", "B/op", "allocs/op"], bench_rows)
    else:
        out += ["Benchmarks in the generated projects: none.", ""]

    out += _tracing_section(run)
    out += _api_section(run)

    out += ["### Where the stack's CPU time goes", ""]
    for r in run.results:
        if r.cpu_profile is None:
            continue
        out += [
            f"{r.variant.id}: a {s.profile_seconds} s CPU profile from the service's own "
            "/debug/pprof/profile under the same load, after the measured runs. The service used "
            f"{r.cpu_profile.cpu_percent:.0f}% of its CPU; well under 100% means it was not the only "
            "thing running there. The project's functions by cumulative share "
            "of the samples (a middleware's share includes everything it wraps; the response is "
            "flushed by net/http after the handlers return, outside them):",
            "",
            *_table(
                ["Function", "cumulative"], [[f"`{n}`", f"{c:.1f}%"] for n, c in r.cpu_profile.functions]
            ),
        ]
    out += ["### Start-up, size and memory", ""]
    rows = []
    for r in run.results:
        images = ", ".join(f"{base} {size / MIB:.2f} MiB" for base, size in r.image_bytes.items())
        ready = "not measured"
        if r.ready_s:
            ready = f"{_ms(r.ready_s)} / {_pct(r.ready_s, 90) * 1000:.1f} ({len(r.ready_s)} starts)"
        rows.append(
            [
                r.variant.id,
                ready,
                f"{r.binary_bytes / MIB:.2f} MiB (bare {r.bare_binary_bytes / MIB:.2f})",
                images,
                f"{r.rss_idle_kib / 1024:.1f} MiB (bare {r.bare_rss_idle_kib / 1024:.1f})",
                f"{r.rss_peak_kib / 1024:.1f} MiB (bare {r.bare_rss_peak_kib / 1024:.1f})",
            ]
        )
    out += _table(
        [
            "Variant",
            "start to ready, median / p90 ms",
            "binary",
            "implied image",
            "RSS idle",
            "RSS peak under load",
        ],
        rows,
    )
    out += [
        "Start to ready: from exec to the first 200 from /readyz, polled every 0.5 ms. The implied image "
        "is the binary plus an estimate of the base image (distroless static-debian12: 2.0 MB, its "
        "published uncompressed size); no image was built. RSS: VmRSS 1 s after ready; peak: VmHWM "
        "after the load runs.",
        "",
        "### copier copy and tests",
        "",
    ]
    rows = [
        [
            r.variant.id,
            f"{statistics.median(r.copy_s):.2f} s",
            f"{statistics.median(r.copy_to_tests_s):.1f} s",
            str(len(r.copy_s)),
        ]
        for r in run.results
        if r.copy_s
    ]
    out += _table(
        ["Variant", "`copier copy --defaults`", "copy to passing `go test -race -count=1 ./...`", "runs"],
        rows,
    )
    out += [
        "Medians; warm module and build caches" + (" (one unmeasured run first)." if s.warm_copy else "."),
        "",
        "### SIGTERM under load",
        "",
    ]
    rows = []
    for r in run.results:
        sd = r.shutdown
        if sd is None:
            continue
        rows.append(
            [
                r.variant.id,
                str(sd.connections),
                f"{sd.exit_ms:.1f} ms",
                str(sd.exit_code),
                f"{sd.answered:,} / {sd.logged:,}",
                str(sd.failed),
                f"{sd.connect_errors + sd.read_errors + sd.write_errors:,}",
            ]
        )
    out += _table(
        [
            "Variant",
            "connections",
            "SIGTERM to exit",
            "exit code",
            "answered / logged",
            "failed",
            "connection errors (not read by the service)",
        ],
        rows,
    )
    out += [
        f"wrk with {s.shutdown_connections} connections for {s.shutdown_seconds:g} s, SIGTERM after "
        f"{s.shutdown_at:g} s, SHUTDOWN_DRAIN_DELAY=0s. Failed: requests the service read and did not "
        "answer with a 2xx, that is access-log records whose response wrk never read, error statuses "
        "and wrk timeouts, plus one for an exit code other than 0 (Shutdown cuts requests in flight only "
        "when SHUTDOWN_TIMEOUT passes, and the service then exits 1). Connection errors: wrk's connect, "
        "read and write errors, which wrk does not tell apart on loopback: new connections refused once "
        "the listener is closed, and keep-alive connections that Shutdown closed between two requests, "
        "whose next request the service never read (a client may retry it). They are expected.",
        "",
        END,
    ]
    return "\n".join(out)


def _against_section(run: Run) -> list[str]:
    """This checkout's default variant against the same rendered from the older commit, same rounds."""
    t = _against(run)
    if t is None:
        return []
    out = [
        f"### Against {run.machine.get('Against', 'the older commit')}",
        "",
        "The default variant rendered from the older commit (`--against`) and built the same way, loaded in "
        "the same rounds, each of its runs next to this checkout's: stack beside stack, sync beside sync, "
        "after them in odd rounds and before them in even ones, so that neither side always follows the "
        "same run. A ratio is the median of the per-round ratios; this / older below 1.00x means this "
        "checkout is slower. The per-round values show how far a single round can be trusted.",
        "",
    ]
    rows = [
        _against_row("stack", t.bare, t.stack, t.stack_costs, t.against, t.against_costs),
        _against_row("sync", t.bare, t.sync, t.sync_costs, t.against_sync, t.against_sync_costs),
    ]
    return out + _table(
        [
            "",
            "bare req/s",
            "older req/s",
            "this req/s",
            "older / bare",
            "this / bare",
            "this / older",
            "this / older, per round",
            "CPU µs/request older / this",
        ],
        [row for row in rows if row],
    )


def _tracing_section(run: Run) -> list[str]:
    """The stack untraced and traced, from the traced variant's BenchmarkServe: each benchmark with what
    it adds to the untraced stack of the same run."""
    rows: list[list[str]] = []
    counted = False
    for r in run.results:
        cost = r.tracing_cost
        if cost is None:
            continue
        counted = counted or bool(r.tracing_benchmarks)
        stack_ns = cost.stack.metrics["ns/op"]
        rows.append(
            [
                r.variant.id,
                f"`{cost.stack.name}`",
                f"{stack_ns:,.0f}",
                _num(cost.stack.metric("B/op")),
                _num(cost.stack.metric("allocs/op")),
                "",
                "",
                "",
                "1.00x",
            ]
        )
        for b in cost.traced:
            added = [cost.added(b, u) for u in ("ns/op", "B/op", "allocs/op")]
            rows.append(
                [
                    r.variant.id,
                    f"`{b.name}`",
                    f"{b.metrics['ns/op']:,.0f}",
                    _num(b.metric("B/op")),
                    _num(b.metric("allocs/op")),
                    *("" if a is None else f"{a:+,.0f}" for a in added),
                    f"{cost.ratio(b):.2f}x",
                ]
            )
    if not rows:
        return []
    s = run.settings
    how = "from the variant's Go benchmarks above"
    if counted:
        how = (
            f"run again on its own after the variant's other benchmarks, `{shlex.join(_tracing_command(s))}`"
        )
        how += f", medians of the {s.tracing_count} runs" if s.tracing_count > 1 else ""
    return [
        "### Tracing",
        "",
        f"The traced variant's `BenchmarkServe` ({how}). The stack untraced: tracing compiled in and "
        "off, so that no tracing middleware is installed (the access log and the duration metric still "
        "look for a sampled span in the request's context). The stack traced by the service's default "
        "sampler, on requests without trace context: at ratio 0, unsampled, every span is dropped; at "
        "ratio 1, sampled, every span is recorded and sent through the batch span processor to an "
        "exporter that discards it. Added: the traced benchmark less the untraced stack of the same "
        "run; x: its ns/op over the untraced stack's.",
        "",
        *_table(
            [
                "Variant",
                "Benchmark",
                "ns/op",
                "B/op",
                "allocs/op",
                "added ns/op",
                "added B/op",
                "added allocs/op",
                "x",
            ],
            rows,
        ),
    ]


def _tracing_command(s: Settings) -> list[str]:
    return gobench.bench_command(
        s.benchtime, gobench.TRACING_BENCHMARK, gobench.TRACING_PACKAGE, s.tracing_count
    )


def _api_section(run: Run) -> list[str]:
    """The example API's operations per request, against the bare handler of the same run, and with
    --against against the same benchmark run in the service rendered from the older commit."""
    rows = []
    older_measured = any(r.against_benchmarks for r in run.results)
    for r in run.results:
        this = gobench.api_benchmarks(r.benchmarks)
        older = gobench.api_benchmarks(r.against_benchmarks)
        bare = gobench.bare(r.benchmarks)
        for op, b in sorted(this.items()):
            ns, allocs = b.metrics["ns/op"], b.metric("allocs/op")
            row = [r.variant.id, op, f"{ns:,.0f}", _num(allocs)]
            row.append(f"{ns / bare.metrics['ns/op']:.1f}x" if bare is not None else "")
            if older_measured:
                o = older.get(op)
                older_ns = None if o is None else o.metrics["ns/op"]
                row += (
                    [f"{older_ns:,.0f}", _num(o.metric("allocs/op")), f"{ns / older_ns:.2f}x"]
                    if o is not None and older_ns is not None
                    else ["", "", ""]
                )
            rows.append(row)
    if not rows:
        return []
    header = ["Variant", "Operation", "ns/op", "allocs/op", "ns / bare"]
    out = [
        "### The example API per request",
        "",
        f"`Benchmark{gobench.API_BENCHMARK}`: `POST /v1/notes` (create) and `GET /v1/notes/{{id}}` (get) "
        "through the whole public handler, over a store that keeps nothing; ns / bare is over the bare "
        "net/http handler's `GET /version` of the same run.",
    ]
    if older_measured:
        header += ["older ns/op", "older allocs/op", "this / older"]
        out[-1] += (
            f" The older columns are the same benchmark file run in the service rendered from "
            f"{run.machine.get('Against', 'the older commit')} (`--against`), right after this checkout's; "
            "this / older below 1.00x means this checkout is faster."
        )
    return [*out, "", *_table(header, rows)]


def _against_row(
    name: str,
    bare: list[WrkResult],
    this: list[WrkResult],
    this_costs: list[RequestCost],
    older: list[WrkResult],
    older_costs: list[RequestCost],
) -> list[str]:
    """One line of the comparison with the older commit; empty when it was not measured."""
    if not this or not older:
        return []

    def ratio(top: list[WrkResult], bottom: list[WrkResult]) -> str:
        return f"{statistics.median(a.rps / b.rps for a, b in zip(top, bottom, strict=True)):.2f}x"

    def cpu(costs: list[RequestCost]) -> str:
        return f"{statistics.median(c.cpu_us for c in costs):.1f}" if costs else ""

    return [
        name,
        _rps(bare),
        _rps(older),
        _rps(this),
        ratio(older, bare),
        ratio(this, bare),
        ratio(this, older),
        ", ".join(f"{a.rps / o.rps:.2f}" for a, o in zip(this, older, strict=True)),
        f"{cpu(older_costs)} / {cpu(this_costs)}",
    ]


# A 1-minute load average above this before the run means other work shared the CPUs.
BUSY_LOAD = 0.5


def _busy_warning(run: Run) -> list[str]:
    before = run.machine.get("Load average before", "")
    if before and float(before.split()[0]) > BUSY_LOAD:
        return [
            f"**The machine was busy** (1-minute load average {before.split()[0]} before the run): "
            "other work shared the CPUs, so these numbers are noisy. Regenerate on an idle machine.",
            "",
        ]
    return []


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


NEW_DOC = """# Performance

What the generated service costs, measured by `nox -s bench`.

{section}
"""


def write_markdown(path: Path, section: str) -> None:
    """Replace the generated section of path, keeping the rest; create the file when it is missing."""
    if not path.exists():
        path.write_text(NEW_DOC.format(section=section))
        return
    text = path.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise BenchError(f"{path} must hold one {BEGIN} ... {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + section + tail)


def chart_svg(run: Run) -> str:
    """Two bar charts side by side: throughput ratio to bare, and allocations the stack adds per request."""
    rows = run.results
    bar_h, gap, top, left, width = 22, 12, 56, 170, 300
    height = top + len(rows) * (bar_h + gap) + 56
    total_w = left + 2 * width + 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{height}" '
        f'viewBox="0 0 {total_w} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{total_w}" height="{height}" fill="white"/>',
    ]

    def panel(
        x0: int,
        title: str,
        values: list[float | None],
        scale: float,
        target: float,
        label: str,
        reference: tuple[float, str] | None = None,
    ) -> None:
        parts.append(f'<text x="{x0}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>')
        axis_bottom = top + len(rows) * (bar_h + gap)
        for k in range(5):
            tick = scale * k / 4
            x = x0 + tick / scale * (width - 40)
            parts.append(
                f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_bottom}" stroke="#ddd"/>'
                f'<text x="{x:.1f}" y="{axis_bottom + 16}" fill="#555" text-anchor="middle">{tick:g}</text>'
            )
        for i, value in enumerate(values):
            y = top + i * (bar_h + gap)
            if value is None:
                parts.append(f'<text x="{x0 + 4}" y="{y + 15}" fill="#777">not measured</text>')
                continue
            w = max(1.0, min(value, scale) / scale * (width - 40))
            parts.append(f'<rect x="{x0}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#4a78b0"/>')
            parts.append(f'<text x="{x0 + w + 4:.1f}" y="{y + 15}">{value:.2f}</text>')
        tx = x0 + target / scale * (width - 40)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top - 8}" x2="{tx:.1f}" y2="{axis_bottom}" '
            'stroke="#c0392b" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{tx:.1f}" y="{top - 12}" fill="#c0392b" text-anchor="middle">{escape(label)}</text>'
        )
        if reference is not None:
            rx = x0 + min(reference[0], scale) / scale * (width - 40)
            parts.append(
                f'<line x1="{rx:.1f}" y1="{top - 4}" x2="{rx:.1f}" y2="{axis_bottom}" '
                'stroke="#e67e22" stroke-dasharray="2 2"/>'
            )
            parts.append(
                f'<text x="{rx:.1f}" y="{axis_bottom + 30}" fill="#e67e22" '
                f'text-anchor="middle">{escape(reference[1])}</text>'
            )
        parts.append(f'<line x1="{x0}" y1="{top - 4}" x2="{x0}" y2="{axis_bottom}" stroke="#333"/>')

    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(r.variant.id)}</text>')
    ratios = [None if r.throughput is None else r.throughput.ratio for r in rows]
    allocs = [None if r.stack_cost is None else r.stack_cost.added("allocs/op") for r in rows]
    scaffold = next((r.throughput.scaffold_to_bare_ratio for r in rows if r.throughput), None)
    reference = None if scaffold is None else (scaffold, f"typical scaffold {scaffold:.2f}")
    panel(left, "Throughput, full stack / bare", ratios, 1.2, 0.85, "target 0.85", reference)
    measured = [a for a in allocs if a is not None]
    scale = 4 * math.ceil(max([16.0, *measured]) / 4)
    panel(left + width + 40, "Allocations added per request", allocs, scale, 3, "target 3")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write(run: Run, markdown: Path, chart: Path) -> None:
    chart.write_text(chart_svg(run))
    write_markdown(markdown, generated_section(run, chart.name))
