"""Rendering, building and testing the generated projects, and the two baselines: bare net/http and a
typical scaffold's chi service."""

from __future__ import annotations

import itertools
import os
import shlex
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import yaml

from tooling import dockerfile, variants

ROOT = Path(__file__).resolve().parent.parent

# The questions whose available choices the benchmark compares: every combination of their choices is
# measured, with every other answer at its default.
COMPARED_QUESTIONS = ("http_framework", "logger")

# The answers that turn tracing on. The default variant with them is measured beside the others: its
# BenchmarkServe serves the stack untraced and traced in the same run (gobench.tracing_cost).
TRACED = {"tracing": "otel"}

# Build stamps passed to the Dockerfile's ARGs, identical for the service and the bare baseline so that
# both answer GET /version with the same bytes.
BUILD_ARGS = {"VERSION": "0.0.0-bench", "COMMIT": "bench", "DATE": "2026-01-01T00:00:00Z"}


class BenchError(RuntimeError):
    """A measurement could not be made."""


@dataclass(frozen=True)
class Variant:
    """One set of answers to benchmark."""

    answers: dict[str, Any]
    # Every measurement (the default answers), or the load, the Go benchmarks, size and memory only.
    full: bool = False

    @property
    def id(self) -> str:
        ident: str = variants.variant_id(self.answers)
        return ident

    @property
    def traced(self) -> bool:
        """Whether tracing is on (TRACED)."""
        return all(self.answers.get(name) == value for name, value in TRACED.items())

    def data_args(self) -> list[str]:
        """`--data` options giving every compared answer explicitly, and every other answer that is not
        the default (the default variant's command is the same whatever the other questions)."""
        args: list[str] = []
        for name in COMPARED_QUESTIONS:
            args += ["--data", f"{name}={self.answers[name]}"]
        base = variants.defaults()
        for name, value in self.answers.items():
            if name not in COMPARED_QUESTIONS and value != base[name]:
                args += ["--data", f"{name}={str(value).lower() if isinstance(value, bool) else value}"]
        return args


def bench_variants() -> list[Variant]:
    """The default answers first, measured in full; then the same with tracing on (TRACED), when its
    choices are available; then every other combination of the available choices of the compared
    questions."""
    base = {name: variants.defaults()[name] for name in variants.SHAPE_QUESTIONS}
    result = [Variant(base, full=True)]
    if all(value in available_choices(name) for name, value in TRACED.items()):
        result.append(Variant({**base, **TRACED}))
    for values in itertools.product(*(available_choices(name) for name in COMPARED_QUESTIONS)):
        answers = {**base, **dict(zip(COMPARED_QUESTIONS, values, strict=True))}
        if answers != base:
            result.append(Variant(answers))
    return result


def available_choices(question: str) -> list[Any]:
    return [c.value for c in variants.choices(question) if c.available]


def run(
    args: list[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 1200,
) -> str:
    """Run a command; raise BenchError with its output when it fails."""
    proc = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"{shlex.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr


def render(variant: Variant, dest: Path, ref: str = "HEAD") -> float:
    """Render the checkout at ref into dest with `copier copy --defaults`; return the wall time in
    seconds (the command a user runs, Python's start-up included). With --vcs-ref HEAD copier takes HEAD
    plus any uncommitted changes, so a change is benchmarked before it is committed."""
    args = [sys.executable, "-m", "copier", "copy", "--defaults", "--vcs-ref", ref]
    args += [*variant.data_args(), str(ROOT), str(dest)]
    start = time.perf_counter()
    run(args, ROOT)
    return time.perf_counter() - start


def resolve_ref(ref: str) -> str:
    """The full commit that ref names in the checkout, which copier can render: a tag, a branch or a
    commit of its history."""
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(
            f"{ref!r} names no commit of the checkout (a shallow clone may lack it: git fetch it)"
        )
    return proc.stdout.strip()


def answers_of(project: Path) -> dict[str, Any]:
    """The answers copier recorded in the project."""
    answers: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers


def dockerfile_build_command(project: Path, stamps: dict[str, str] = BUILD_ARGS) -> str:
    """The Dockerfile's `go build` line for a native build (tooling.dockerfile), stamped with the
    benchmark's build arguments unless told otherwise."""
    try:
        return dockerfile.dockerfile_build_command(project, stamps)
    except (dockerfile.DockerfileError, subprocess.CalledProcessError) as err:
        raise BenchError(str(err)) from err


def build_service(project: Path, out_dir: Path) -> tuple[Path, str]:
    """Build the service with the Dockerfile's own command; return the binary and the command run."""
    name = answers_of(project)["project_name"]
    command = dockerfile_build_command(project)
    if f"/out/{name}" not in command:
        raise BenchError(f"the Dockerfile's build line does not write /out/{name}: {command}")
    command = command.replace("/out/", f"{out_dir}/")
    run(["sh", "-c", command], project)
    return out_dir / name, command


# The baseline servers: each answers GET /version like the generated service, with the same JSON and
# the service's default timeouts (the comparison is about what runs per request); $doc, $imports and
# $router are what differs between them.
BASELINE_MAIN = Template("""\
$doc
package main

import (
\t"encoding/json"
\t"log"
\t"net/http"
\t"os"
\t"runtime"
\t"time"
$imports)

// Set with -ldflags -X, as the service's buildinfo package is.
var (
\tversion string
\tcommit  string
\tdate    string
)

type info struct {
\tVersion   string `json:"version"`
\tCommit    string `json:"commit"`
\tBuildDate string `json:"build_date"`
\tGoVersion string `json:"go_version"`
}

func main() {
\tv := info{Version: version, Commit: commit, BuildDate: date, GoVersion: runtime.Version()}
\thandler := func(w http.ResponseWriter, _ *http.Request) {
\t\tbody, err := json.Marshal(v)
\t\tif err != nil {
\t\t\thttp.Error(w, err.Error(), http.StatusInternalServerError)
\t\t\treturn
\t\t}
\t\tw.Header().Set("Content-Type", "application/json")
\t\tw.WriteHeader(http.StatusOK)
\t\t_, _ = w.Write(append(body, '\\n'))
\t}
$router
\tsrv := &http.Server{
\t\tAddr:              os.Getenv("HTTP_ADDR"),
\t\tHandler:           router,
\t\tReadHeaderTimeout: 5 * time.Second,
\t\tReadTimeout:       15 * time.Second,
\t\tWriteTimeout:      15 * time.Second,
\t\tIdleTimeout:       60 * time.Second,
\t}
\tlog.Fatal(srv.ListenAndServe())
}
""")

BARE_MAIN = BASELINE_MAIN.substitute(
    doc="""\
// Command bare answers GET /version like the generated service, with nothing
// but net/http: the baseline of the load benchmark. It is written and built by
// the benchmark harness with the Dockerfile's flags.""",
    imports="",
    router="""\
\trouter := http.NewServeMux()
\trouter.HandleFunc("GET /version", handler)""",
)

SCAFFOLD_MAIN = BASELINE_MAIN.substitute(
    doc="""\
// Command scaffold answers GET /version as the chi service of a typical Go
// scaffold does: chi's RequestID, Logger (one text line per request, to
// stdout) and Recoverer middleware, and nothing else. It is written and built
// by the benchmark harness with the Dockerfile's flags.""",
    imports="""
\t"github.com/go-chi/chi/v5"
\t"github.com/go-chi/chi/v5/middleware"
""",
    router="""\
\trouter := chi.NewRouter()
\trouter.Use(middleware.RequestID)
\trouter.Use(middleware.Logger)
\trouter.Use(middleware.Recoverer)
\trouter.Get("/version", handler)""",
)


def bare_build_command(project: Path, out_dir: Path, program: str = "bare") -> str:
    """The service's Dockerfile build line turned into a baseline's: the same flags, the buildinfo stamps
    retargeted to the program's variables, its own package and output."""
    answers = answers_of(project)
    name, module = answers["project_name"], answers["module_path"]
    command = dockerfile_build_command(project)
    command = command.replace(f"{module}/internal/buildinfo.", "main.")
    command = command.replace(f"./cmd/{name}", ".").replace(f"/out/{name}", f"{out_dir}/{program}")
    if module in command or "main.version=" not in command or f"{out_dir}/{program}" not in command:
        raise BenchError(f"cannot turn the Dockerfile's build line into the {program} server's: {command}")
    return command


def build_bare(project: Path, work: Path, out_dir: Path) -> Path:
    """Write the bare server into a module of its own and build it like the service."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(f"module bare\n\ngo {answers_of(project)['go_version']}\n")
    (work / "main.go").write_text(BARE_MAIN)
    run(["sh", "-c", bare_build_command(project, out_dir)], work)
    return out_dir / "bare"


def chi_version() -> str:
    """The chi release the template pins (gomod/modules.toml), so the scaffold runs the same router."""
    modules = tomllib.loads((ROOT / "gomod/modules.toml").read_text())
    version: str = modules["http_framework=chi"]["github.com/go-chi/chi/v5"]
    return version


def build_scaffold(project: Path, work: Path, out_dir: Path) -> Path:
    """Write the typical scaffold's server into a module of its own and build it like the service."""
    work.mkdir(parents=True, exist_ok=True)
    go_mod = f"module scaffold\n\ngo {answers_of(project)['go_version']}\n\n"
    (work / "go.mod").write_text(go_mod + f"require github.com/go-chi/chi/v5 {chi_version()}\n")
    (work / "main.go").write_text(SCAFFOLD_MAIN)
    run(["go", "mod", "tidy"], work)
    run(["sh", "-c", bare_build_command(project, out_dir, "scaffold")], work)
    return out_dir / "scaffold"


def go_test_command() -> list[str]:
    """The generated Makefile's `make test` (go test -race), with the test cache off so tests run."""
    return ["go", "test", "-race", "-count=1", "./..."]


def copy_to_passing_tests(variant: Variant, dest: Path) -> tuple[float, float]:
    """`copier copy --defaults`, then the project's tests; return (copy seconds, total seconds)."""
    start = time.perf_counter()
    copy_seconds = render(variant, dest)
    run(go_test_command(), dest)
    return copy_seconds, time.perf_counter() - start
