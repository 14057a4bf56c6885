"""The benchmark harness's own logic: parsing wrk's and go test's output, pairing benchmarks, the
variants it measures, the build lines it derives and the report it writes. The measurements
themselves run in `nox -s bench`."""

from __future__ import annotations

import os
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bench import gobench, load, profile, project, report
from bench.measure import LoadResult, Run, Settings, VariantResult, round_order
from bench.project import BenchError, Variant
from bench.server import Counters, RequestCost
from conftest import Render
from tooling.variants import SHAPE_QUESTIONS, choices, defaults

GO_TEST_OUTPUT = """\
goos: linux
goarch: amd64
pkg: github.com/acme/my-service/internal/server
cpu: AMD EPYC
BenchmarkServe/bare-2         	 1000000	      1052 ns/op	    1410 B/op	      14 allocs/op
BenchmarkServe/stack-2        	  300000	      3981.5 ns/op	    2950 B/op	      21 allocs/op
PASS
ok  	github.com/acme/my-service/internal/server	3.1s
pkg: github.com/acme/my-service/internal/web
BenchmarkAccessLog            	 2000000	       612 ns/op	       0 B/op	       0 allocs/op
BenchmarkNoMem-2              	 5000000	       210 ns/op
PASS
"""


def test_go_benchmark_lines_are_parsed() -> None:
    found = gobench.parse(GO_TEST_OUTPUT)
    assert [(b.package.rsplit("/", 1)[-1], b.name) for b in found] == [
        ("server", "Serve/bare"),
        ("server", "Serve/stack"),
        ("web", "AccessLog"),
        ("web", "NoMem"),
    ]
    assert found[1].iterations == 300000
    assert found[1].metrics == {"ns/op": 3981.5, "B/op": 2950, "allocs/op": 21}
    assert found[3].metric("allocs/op") is None


def test_an_unreadable_benchmark_line_is_an_error() -> None:
    assert len(gobench.read_all(GO_TEST_OUTPUT)) == 4
    with pytest.raises(BenchError):
        gobench.read_all(GO_TEST_OUTPUT + "BenchmarkOdd-2   100   n/a ns/op\n")


def test_stack_cost_pairs_stack_and_bare_of_one_package() -> None:
    cost = gobench.stack_cost(gobench.parse(GO_TEST_OUTPUT))
    assert cost is not None
    assert (cost.stack.name, cost.bare.name) == ("Serve/stack", "Serve/bare")
    assert cost.added("allocs/op") == 7
    assert cost.added("B/op") == 1540


def test_stack_cost_with_top_level_names() -> None:
    output = "pkg: x/server\nBenchmarkBare-2 10 100 ns/op 8 B/op 1 allocs/op\n"
    output += "BenchmarkStack-2 10 400 ns/op 80 B/op 6 allocs/op\n"
    cost = gobench.stack_cost(gobench.parse(output))
    assert cost is not None
    assert cost.added("allocs/op") == 5


def test_stack_cost_with_the_role_inside_the_name() -> None:
    output = "pkg: x/server\nBenchmarkBareHandler-2 10 100 ns/op 8 B/op 1 allocs/op\n"
    output += "BenchmarkStackHandler-2 10 400 ns/op 80 B/op 4 allocs/op\n"
    output += "BenchmarkStackOther-2 10 400 ns/op 80 B/op 9 allocs/op\n"
    cost = gobench.stack_cost(gobench.parse(output))
    assert cost is not None
    assert (cost.stack.name, cost.bare.name) == ("StackHandler", "BareHandler")


def test_no_stack_cost_without_both_halves() -> None:
    only_stack = "pkg: x/server\nBenchmarkStack-2 10 400 ns/op 80 B/op 6 allocs/op\n"
    assert gobench.stack_cost(gobench.parse(only_stack)) is None
    other_package = only_stack + "pkg: x/other\nBenchmarkBare-2 10 100 ns/op 8 B/op 1 allocs/op\n"
    assert gobench.stack_cost(gobench.parse(other_package)) is None
    assert gobench.stack_cost([]) is None


TRACED_OUTPUT = """\
pkg: github.com/acme/my-service/internal/server
BenchmarkServe/bare-2                 1000000	      1300 ns/op	     496 B/op	       4 allocs/op
BenchmarkServe/stack-2                 300000	      4000 ns/op	    1088 B/op	       7 allocs/op
BenchmarkServe/traced-unsampled-2      250000	      4450 ns/op	    1232 B/op	       9 allocs/op
BenchmarkServe/traced-sampled-2        100000	     11500 ns/op	    3858 B/op	      30 allocs/op
pkg: github.com/acme/my-service/internal/web
BenchmarkServe/traced-other-2          100000	     11500 ns/op	    3858 B/op	      30 allocs/op
"""


def test_tracing_cost_is_the_traced_stacks_against_the_untraced_one() -> None:
    found = gobench.parse(TRACED_OUTPUT)
    # The traced benchmarks leave the stack's pairing with bare as it was.
    stack = gobench.stack_cost(found)
    assert stack is not None
    assert (stack.stack.name, stack.bare.name) == ("Serve/stack", "Serve/bare")
    cost = gobench.tracing_cost(found)
    assert cost is not None
    assert cost.stack.name == "Serve/stack"
    # Only the stack's package: the web package's traced-other is another benchmark.
    assert [cost.role(b) for b in cost.traced] == ["traced-unsampled", "traced-sampled"]
    assert cost.unsampled is not None
    assert cost.unsampled.name == "Serve/traced-unsampled"
    assert cost.added(cost.unsampled, "ns/op") == 450
    assert cost.added(cost.unsampled, "allocs/op") == 2
    assert cost.added(cost.traced[1], "B/op") == 2770
    assert cost.ratio(cost.traced[1]) == pytest.approx(2.875)


def test_tracing_cost_with_top_level_names() -> None:
    output = "pkg: x/server\nBenchmarkBareHandler-2 10 100 ns/op\nBenchmarkStackHandler-2 10 400 ns/op\n"
    output += "BenchmarkTracedHandler-2 10 900 ns/op\nBenchmarkTracedHandlerOther-2 10 950 ns/op\n"
    cost = gobench.tracing_cost(gobench.parse(output))
    assert cost is not None
    assert [cost.role(b) for b in cost.traced] == ["Traced"]
    assert cost.unsampled is None
    assert cost.added(cost.traced[0], "allocs/op") is None


def test_no_tracing_cost_without_traced_benchmarks_or_a_stack() -> None:
    assert gobench.tracing_cost(gobench.parse(GO_TEST_OUTPUT)) is None
    no_bare = "\n".join(line for line in TRACED_OUTPUT.splitlines() if "/bare" not in line)
    assert gobench.tracing_cost(gobench.parse(no_bare)) is None


def test_medians_of_repeated_benchmarks() -> None:
    runs = gobench.parse(TRACED_OUTPUT + TRACED_OUTPUT.replace("4450 ns/op", "4650 ns/op") + TRACED_OUTPUT)
    found = gobench.medians(runs)
    assert [(b.package.rsplit("/", 1)[-1], b.name) for b in found] == [
        (b.package.rsplit("/", 1)[-1], b.name) for b in gobench.parse(TRACED_OUTPUT)
    ]
    unsampled = found[2]
    assert unsampled.metrics == {"ns/op": 4450, "B/op": 1232, "allocs/op": 9}
    assert unsampled.iterations == 3 * 250000
    # A measurement missing from one run is left out.
    partial = gobench.parse("pkg: p\nBenchmarkA 10 5 ns/op 1 allocs/op\nBenchmarkA 10 7 ns/op\n")
    assert gobench.medians(partial)[0].metrics == {"ns/op": 6}


def test_bench_command_counts_only_when_asked() -> None:
    assert gobench.bench_command("1s") == [
        "go",
        "test",
        "-run",
        "^$",
        "-bench",
        ".",
        "-benchmem",
        "-benchtime=1s",
        "./...",
    ]
    assert gobench.bench_command("1s", gobench.TRACING_BENCHMARK, gobench.TRACING_PACKAGE, 6)[-2:] == [
        "-count=6",
        "./internal/server/",
    ]


def test_access_log_benchmarks_are_found() -> None:
    assert [b.name for b in gobench.access_log(gobench.parse(GO_TEST_OUTPUT))] == ["AccessLog"]


def test_wrk_summary_is_parsed() -> None:
    out = (
        "Running 2s test @ http://127.0.0.1:1/version\n"
        'BENCH-SUMMARY {"requests":5000,"duration_us":2000000,"connect":1,"read":2,"write":3,'
        '"status":4,"timeout":5,"p50_us":640,"p99_us":1430}\n'
    )
    r = load.parse_wrk(out)
    assert r.rps == 2500
    assert (r.connect_errors, r.read_errors, r.write_errors, r.status_errors, r.timeouts) == (1, 2, 3, 4, 5)
    assert (r.p50_ms, r.p99_ms) == (0.64, 1.43)


def test_wrk_without_summary_is_an_error() -> None:
    with pytest.raises(BenchError):
        load.parse_wrk("Running 2s test\nunable to connect to 127.0.0.1:1 Connection refused\n")


def test_failed_requests_count_lost_answers_errors_and_an_unclean_exit() -> None:
    clean = load.ShutdownResult(256, 1.0, 0, 20.0, 900, 900, 0, 0, 0, 5000, 10)
    assert clean.failed == 0
    lost = load.ShutdownResult(256, 1.0, 0, 20.0, 897, 900, 1, 0, 0, 5000, 10)
    assert (lost.lost, lost.failed) == (3, 4)
    cut = load.ShutdownResult(256, 1.0, 1, 20.0, 900, 900, 0, 0, 0, 5000, 10)
    assert cut.failed == 1


def test_access_records_of_the_route_are_counted(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    log.write_text(
        '{"msg":"service started"}\n'
        '{"msg":"request","route":"/version","status":200}\n'
        "not json\n"
        '{"msg":"request","route":"/v1/notes","status":201}\n'
        '{"msg":"request","route":"/version","status":200}\n'
    )
    assert load.count_access_records(log, "/version") == 2


PPROF_TOP = """\
File: my-service
Type: cpu
Duration: 4s, Total samples = 2.34s (58.49%)
      flat  flat%   sum%        cum   cum%
         0     0%     0%      2.16s 92.31%  net/http.(*conn).serve
         0     0% 40.17%      0.80s 34.19%  github.com/acme/x/internal/server.NewServer.SecurityHeaders.func9
     0.01s  0.43% 40.60%      0.48s 20.51%  github.com/acme/x/internal/web.Observe.func2.1.1
     0.01s  0.43% 41.03%      0.36s 15.38%  log/slog.(*JSONHandler).Handle
"""


def test_profile_top_lists_the_projects_functions() -> None:
    p = profile.parse_top(PPROF_TOP, "github.com/acme/x")
    assert p.cpu_percent == 58.49
    assert p.functions == [
        ("server.NewServer.SecurityHeaders.func9", 34.19),
        ("web.Observe.func2.1.1", 20.51),
    ]
    with pytest.raises(BenchError):
        profile.parse_top(PPROF_TOP, "github.com/acme/other")
    light = PPROF_TOP.replace("Total samples = 2.34s (58.49%)", "Total samples = 10ms ( 0.68%)")
    assert profile.parse_top(light, "github.com/acme/x").cpu_percent == 0.68


def test_bench_variants_are_the_default_the_traced_then_every_combination() -> None:
    """The default, the default with tracing (which --quick measures beside it), then every other
    combination of the compared questions."""
    found = project.bench_variants()
    base = defaults()
    assert found[0].id == "defaults"
    assert [v.full for v in found] == [True] + [False] * (len(found) - 1)
    traced = found[1]
    assert traced.id == ",".join(f"{k}={v}" for k, v in project.TRACED.items())
    assert traced.answers == {**found[0].answers, **project.TRACED}
    assert [v.traced for v in found] == [False, True] + [False] * (len(found) - 2)
    untraced = [found[0], *found[2:]]
    combinations = {tuple(v.answers[name] for name in project.COMPARED_QUESTIONS) for v in untraced}
    expected = 1
    for name in project.COMPARED_QUESTIONS:
        available = {c.value for c in choices(name) if c.available}
        assert {v.answers[name] for v in untraced} == available
        expected *= len(available)
    assert len(untraced) == len(combinations) == expected
    for v in untraced:
        others = {k for k in v.answers if k not in project.COMPARED_QUESTIONS}
        assert all(v.answers[k] == base[k] for k in others)


def test_variants_render_with_their_answers_that_are_not_the_default() -> None:
    default, traced, *_ = project.bench_variants()
    compared = [
        arg for name in project.COMPARED_QUESTIONS for arg in ("--data", f"{name}={default.answers[name]}")
    ]
    assert default.data_args() == compared
    assert traced.data_args() == compared + [
        a for k, v in project.TRACED.items() for a in ("--data", f"{k}={v}")
    ]
    worker = Variant({**default.answers, "background_worker": True})
    assert worker.data_args()[-2:] == ["--data", "background_worker=true"]


def test_bare_build_line_is_the_dockerfiles(variant: dict[str, Any], render: Render, tmp_path: Path) -> None:
    proj = render(variant)
    service = shlex.split(project.dockerfile_build_command(proj))
    bare = shlex.split(project.bare_build_command(proj, tmp_path))
    module = project.answers_of(proj)["module_path"]
    assert "$" not in " ".join(service), "an ARG was left unsubstituted"
    # The same environment (CGO_ENABLED, GOOS, GOARCH) and the same flags.
    assert service[: service.index("go")] == bare[: bare.index("go")]
    assert [w for w in service if w.startswith("-") and " " not in w] == [
        w for w in bare if w.startswith("-") and " " not in w
    ]
    ldflags = service[service.index("-ldflags") + 1]
    assert ldflags.startswith("-s -w")
    assert bare[bare.index("-ldflags") + 1] == ldflags.replace(f"{module}/internal/buildinfo.", "main.")
    assert bare[bare.index("-o") + 1] == f"{tmp_path}/bare"
    assert bare[-1] == "."


def _result(ratio: float, allocs: float | None) -> VariantResult:
    wrk = load.WrkResult(10000, 1.0, 0, 0, 0, 0, 0, 1.0, 2.0)
    stack = load.WrkResult(round(10000 * ratio), 1.0, 0, 0, 0, 0, 0, 1.5, 3.0)
    r = VariantResult(Variant({k: v for k, v in defaults().items() if k in SHAPE_QUESTIONS}))
    costs = ([RequestCost(30.0, 2.0, 1.0)], [RequestCost(45.5, 2.0, 2.0)])
    r.throughput = LoadResult([wrk], [stack], stack.requests, *costs)
    r.binary_bytes = 9 * report.MIB
    r.bare_binary_bytes = 5 * report.MIB
    r.image_bytes = {"distroless": 11 * report.MIB}
    r.ready_s = [0.010, 0.012, 0.011]
    r.rss_idle_kib = 9000
    r.rss_peak_kib = 16000
    r.shutdown = load.ShutdownResult(256, 1.0, 0, 20.0, 900, 900, 0, 0, 0, 5000, 10)
    r.copy_s = [1.3]
    r.copy_to_tests_s = [18.0]
    if allocs is not None:
        out = "pkg: x/server\nBenchmarkBare-2 10 100 ns/op 8 B/op 1 allocs/op\n"
        out += f"BenchmarkStack-2 10 400 ns/op 80 B/op {1 + allocs:g} allocs/op\n"
        r.benchmarks = gobench.parse(out)
    return r


def _run(*results: VariantResult, load_average: str = "0.05 0.10 0.20") -> Run:
    return Run(Settings.short(), {"CPU": "test", "Load average before": load_average}, list(results), 60.0)


def test_report_warns_when_the_machine_was_busy() -> None:
    assert "busy" not in report.generated_section(_run(_result(0.9, 2)), "performance.svg")
    busy = report.generated_section(_run(_result(0.9, 2), load_average="2.10 1.00 0.50"), "performance.svg")
    assert "**The machine was busy** (1-minute load average 2.10" in busy


def test_report_marks_missed_targets_and_unmeasured_ones() -> None:
    text = report.generated_section(_run(_result(0.5, None)), "performance.svg")
    assert text.startswith(report.BEGIN)
    assert text.endswith(report.END)
    assert "0.50x **FAIL**" in text
    assert "| Allocations per request added by the stack | <= 3 | not measured |" in text
    assert "| Throughput, full stack / typical scaffold | >= 1.25x | not measured |" in text
    assert "no stack/bare benchmark pair" in text
    good = report.generated_section(_run(_result(0.9, 2)), "performance.svg")
    assert "0.90x pass" in good
    assert "| <= 3 | 2 pass |" in good
    assert "| <= 1 µs | 0.30 µs pass |" in good
    assert report.failures(_run(_result(0.9, 2))) == []
    assert len(report.failures(_run(_result(0.5, 9)))) == 2


def _traced_result(output: str = TRACED_OUTPUT) -> VariantResult:
    r = _result(0.9, 2)
    r.variant = Variant({**r.variant.answers, **project.TRACED})
    r.tracing_benchmarks = gobench.medians(gobench.parse(output))
    return r


def test_report_shows_what_tracing_adds_to_the_stack() -> None:
    default, traced = _result(0.9, 2), _traced_result()
    run = _run(default, traced)
    text = report.generated_section(run, "performance.svg")
    tracing = text[text.index("### Tracing") :].split("\n### ")[0]
    assert f"`{shlex.join(report._tracing_command(run.settings))}`" in tracing
    assert "| tracing=otel | `Serve/stack` | 4,000 | 1088 | 7 |  |  |  | 1.00x |" in tracing
    assert (
        "| tracing=otel | `Serve/traced-unsampled` | 4,450 | 1232 | 9 | +450 | +144 | +2 | 1.11x |" in tracing
    )
    assert (
        "| tracing=otel | `Serve/traced-sampled` | 11,500 | 3858 | 30 | +7,500 | +2,770 | +23 | 2.88x |"
        in tracing
    )
    # Tracing's targets: the traced variant's, not measured in the others.
    assert (
        "| Time per request added by tracing, unsampled (Go benchmark) | <= 0.5 µs | not measured "
        "| 0.45 µs pass |" in text
    )
    assert "| Allocations per request added by tracing, unsampled | <= 3 | not measured | 2 pass |" in text
    assert report.failures(run) == []
    assert "medians" not in tracing  # --quick runs it once
    full = Run(Settings.full(), run.machine, run.results, 60.0)
    assert "-count=6 ./internal/server/`, medians of the 6 runs)" in report.generated_section(full, "p.svg")
    slow = _traced_result(
        TRACED_OUTPUT.replace(
            "4450 ns/op	    1232 B/op	       9", "4600 ns/op	    1300 B/op	      11"
        )
    )
    assert report.failures(_run(default, slow)) == [
        "tracing=otel: Time per request added by tracing, unsampled (Go benchmark) <= 0.5 µs "
        "(measured 0.60 µs)",
        "tracing=otel: Allocations per request added by tracing, unsampled <= 3 (measured 4)",
    ]


def test_report_reads_tracing_from_the_variants_benchmarks_without_a_run_of_their_own() -> None:
    traced = _result(0.9, 2)
    traced.benchmarks = gobench.parse(TRACED_OUTPUT)
    text = report.generated_section(_run(traced), "performance.svg")
    assert "`BenchmarkServe` (from the variant's Go benchmarks above)" in text
    assert "| defaults | `Serve/traced-unsampled` | 4,450 | 1232 | 9 | +450 | +144 | +2 | 1.11x |" in text


def test_report_has_no_tracing_section_without_a_traced_variant() -> None:
    text = report.generated_section(_run(_result(0.9, 2)), "performance.svg")
    assert "### Tracing" not in text
    assert "| Allocations per request added by tracing, unsampled | <= 3 | not measured |" in text


def test_report_compares_with_the_scaffold_and_the_synchronous_log() -> None:
    default = _result(0.9, 2)
    assert default.throughput is not None
    bare = default.throughput.bare[0]
    default.throughput.sync = [load.WrkResult(7000, 1.0, 0, 0, 0, 0, 0, 1.0, 2.0)]
    default.throughput.scaffold = [load.WrkResult(6000, 1.0, 0, 0, 0, 0, 0, 1.0, 2.0)]
    assert default.throughput.sync_ratio == 7000 / bare.requests
    assert default.throughput.scaffold_ratio == 9000 / 6000
    other = _result(0.6, 2)
    assert other.throughput is not None
    other.throughput.scaffold_to_bare = 0.6
    # Measured as every variant but the default is: no starts, shutdown or copies.
    other.ready_s, other.shutdown, other.copy_s, other.copy_to_tests_s = [], None, [], []
    assert other.throughput.scaffold_ratio == pytest.approx(1.0)
    text = report.generated_section(_run(default, other), "performance.svg")
    assert "| >= 1.25x | 1.50x pass | 1.00x (via bare) **FAIL** |" in text
    assert "| Throughput, synchronous access log / bare | >= 0.75x | 0.70x **FAIL** | not measured |" in text
    assert "typical scaffold 0.60" in report.chart_svg(_run(default, other))


def test_chart_is_well_formed_svg() -> None:
    svg = report.chart_svg(_run(_result(0.5, None), _result(0.9, 12)))
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "not measured" in texts
    assert "0.50" in texts
    assert "12.00" in texts


def test_markdown_keeps_the_text_around_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Title\n\nprose\n\n{report.BEGIN}\nold\n{report.END}\n\nmore prose\n")
    report.write_markdown(doc, f"{report.BEGIN}\nnew\n{report.END}")
    assert doc.read_text() == f"# Title\n\nprose\n\n{report.BEGIN}\nnew\n{report.END}\n\nmore prose\n"
    doc.write_text("# Title without markers\n")
    with pytest.raises(BenchError):
        report.write_markdown(doc, f"{report.BEGIN}\nnew\n{report.END}")
    missing = tmp_path / "new.md"
    report.write_markdown(missing, f"{report.BEGIN}\nnew\n{report.END}")
    assert report.BEGIN in missing.read_text()


def test_server_costs_are_read_from_proc() -> None:
    before = Counters.of(os.getpid())
    sum(i * i for i in range(2_000_000))  # burn some CPU
    Path("/proc/self/status").read_text()  # and make a read call or more
    after = Counters.of(os.getpid())
    assert after.cpu_s > before.cpu_s
    assert after.read_calls > before.read_calls
    cost = RequestCost.between(Counters(1.0, 10, 20), Counters(1.5, 30, 30), 10_000)
    assert cost == RequestCost(50.0, 0.002, 0.001)
    with pytest.raises(BenchError):
        RequestCost.between(before, after, 0)


def test_report_shows_what_a_request_costs_the_server() -> None:
    text = report.generated_section(_run(_result(0.9, 6)), "performance.svg")
    assert "| defaults | 30.0 / 45.5 | 2.00 / 2.00 | 1.00 / 2.00 |" in text


def test_report_compares_with_an_older_commit_only_when_measured() -> None:
    default = _result(0.8, 2)
    assert default.throughput is not None
    plain = report.generated_section(_run(default), "performance.svg")
    assert "--against" not in plain
    assert "### Against" not in plain
    t = default.throughput
    t.sync = [load.WrkResult(7000, 1.0, 0, 0, 0, 0, 0, 1.0, 2.0)]
    t.sync_costs = [RequestCost(50.0, 2.0, 2.0)]
    # The older commit: its stack as fast as this one's, its sync faster than this one's by a tenth.
    t.against = [load.WrkResult(8000, 1.0, 0, 0, 0, 0, 0, 1.0, 2.0)]
    t.against_costs = [RequestCost(45.0, 2.0, 1.0)]
    t.against_sync = [load.WrkResult(7778, 1.0, 0, 0, 0, 0, 0, 1.0, 2.0)]
    t.against_sync_costs = [RequestCost(46.0, 2.0, 2.0)]
    assert t.stack_change == 1.0
    assert t.sync_change == pytest.approx(0.90, abs=0.005)
    run = _run(default)
    run.machine["Against"] = "3c1a0f2"
    text = report.generated_section(run, "performance.svg")
    assert "| Throughput, full stack / the same at --against | >= 0.95x | 1.00x pass |" in text
    assert (
        "| Throughput, synchronous access log / the same at --against | >= 0.95x | 0.90x **FAIL** |" in text
    )
    assert "### Against 3c1a0f2" in text
    assert "| stack | 10,000 | 8,000 | 8,000 | 0.80x | 0.80x | 1.00x | 1.00 | 45.0 / 45.5 |" in text
    assert "| sync | 10,000 | 7,778 | 7,000 | 0.78x | 0.70x | 0.90x | 0.90 | 46.0 / 50.0 |" in text
    missed = [f for f in report.failures(run) if "--against" in f]
    assert missed == [
        "defaults: Throughput, synchronous access log / the same at --against >= 0.95x (measured 0.90x)"
    ]


def test_an_older_commit_is_resolved_in_the_checkout() -> None:
    head = project.resolve_ref("HEAD")
    assert len(head) == 40
    assert project.resolve_ref(head[:12]) == head
    with pytest.raises(BenchError, match="names no commit"):
        project.resolve_ref("no-such-ref-of-the-template")


def test_against_runs_alternate_their_place_in_the_round() -> None:
    """The older commit's runs follow this checkout's in odd rounds and precede them in even ones;
    without --against the order never changes."""
    names = ["bare", "stack", "against", "sync", "against-sync", "scaffold"]
    assert round_order(names, 0) == names
    assert round_order(names, 1) == ["bare", "against", "stack", "against-sync", "sync", "scaffold"]
    assert round_order(names, 2) == names
    plain = ["bare", "stack", "sync", "scaffold"]
    assert [round_order(plain, i) for i in range(3)] == [plain] * 3
