"""Every variant builds and passes its own checks right after `copier copy`: go build, go vet,
go test -race, and `make lint` (golangci-lint at the version the project pins, installed by the
project itself; go.mod tidy; no conflict left). go.mod's tidiness alone is a render test."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from conftest import dependency_urls, go

pytestmark = pytest.mark.slow


def test_builds_and_vets(project: Path) -> None:
    go(project, "build", "./...")
    go(project, "vet", "./...")


def test_own_tests_pass_with_race_detector(project: Path, request: pytest.FixtureRequest) -> None:
    """`go test -race`, with the integration tests of the dependencies the project lists running
    against real servers (each on a fresh database), not skipped."""
    urls = dependency_urls(project, request)
    out = go(project, "test", "-race", "-count=1", *(["-v"] if urls else []), "./...", env=urls)
    assert "FAIL" not in out
    assert "ok " in out, out
    skipped = skips_naming(out, urls)
    assert not skipped, (
        f"tests skipped although {', '.join(urls)} {'is' if len(urls) == 1 else 'are'} set:\n"
        + ("\n".join(skipped))
    )


def test_make_test_names_what_it_skipped(project: Path, request: pytest.FixtureRequest) -> None:
    """Plain `make test` ends with one line naming every variable whose server tests it skipped,
    and says nothing once they are all set (one set and one not, when the variant needs two).
    The line depends on the environment only, and the tests' outcome is the race test's: here
    `go test` compiles everything as `make test` has it but runs no test (GOFLAGS=-run=^$), which
    saves running the suite twice more."""
    urls = dependency_urls(project, request)
    if not urls:
        pytest.skip("this variant's tests need no server (neither a database nor a cache)")
    names = list(urls)
    for given in [names[:0], names[:1]] if len(names) > 1 else [names[:0]]:
        env = {k: v for k, v in os.environ.items() if k not in urls} | {k: urls[k] for k in given}
        env["GOFLAGS"] = " ".join(filter(None, [env.get("GOFLAGS", ""), "-run=^$"]))
        proc = subprocess.run(
            ["make", "test"], cwd=project, capture_output=True, text=True, timeout=900, env=env, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        unset = " ".join(k for k in names if k not in given)
        assert proc.stdout.splitlines()[-1] == (
            "Skipped the tests that need a server, the whole program's among them; "
            f'unset: {unset} (README, "Test it").'
        ), proc.stdout


def skips_naming(verbose_output: str, names: Iterable[str]) -> list[str]:
    """The tests `go test -v` reports skipped with a reason that names one of names. (Its output
    streams: a test's log lines come between its last `=== RUN` or `=== CONT` and its `--- SKIP`.)"""
    lines = verbose_output.splitlines()
    found = []
    for i, line in enumerate(lines):
        skipped = re.match(r"\s*--- SKIP: (\S+)", line)
        if skipped is None:
            continue
        heads = [j for j in range(i) if re.fullmatch(rf"=== (RUN|CONT) +{re.escape(skipped[1])}", lines[j])]
        logged = [r for r in lines[heads[-1] + 1 if heads else i : i] if not r.startswith(("===", "---"))]
        if any(name in r for r in logged for name in names):
            found.append("\n".join([line.strip(), *logged]))
    return found


def path_without(tool: str) -> str:
    """PATH with every directory that holds `tool` left out."""
    kept = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / tool).exists()]
    path = os.pathsep.join(kept)
    assert shutil.which(tool, path=path) is None
    assert shutil.which("go", path=path), "go must stay on PATH"
    return path


def make_lint(project: Path) -> subprocess.CompletedProcess[str]:
    """`make lint` on a machine whose only tool is Go."""
    # golangci-lint holds a lock in the temporary directory and a second instance fails on it; the
    # projects linted at once here are separate copies, so each gets a temporary directory of its own.
    tmpdir = project.parent / "tmp"
    tmpdir.mkdir(exist_ok=True)
    return subprocess.run(
        ["make", "lint"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PATH": path_without("golangci-lint"), "TMPDIR": str(tmpdir)},
        check=False,
    )


@pytest.fixture
def own_copy(project: Path, tmp_path: Path) -> Path:
    """A copy of the rendered project that a test may change (its tools land in .tools/)."""
    return Path(shutil.copytree(project, tmp_path / project.name, symlinks=True))


def test_make_lint_clean_with_only_go(own_copy: Path) -> None:
    proc = make_lint(own_copy)
    assert proc.returncode == 0, f"make lint:\n{proc.stdout}\n{proc.stderr}"
    assert list((own_copy / ".tools").glob("golangci-lint-v*")), "make lint used a linter it did not install"


@pytest.mark.parametrize(
    ("leftover", "content"),
    [
        ("README.md", "<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\n"),
        (".env.example", ">>>>>>> after updating\n"),
        ("Makefile.rej", "@@ -1 +1 @@\n"),
    ],
)
def test_make_lint_fails_on_a_conflict_left_by_an_update(own_copy: Path, leftover: str, content: str) -> None:
    with (own_copy / leftover).open("a") as f:
        f.write(content)
    proc = make_lint(own_copy)
    assert proc.returncode != 0, f"make lint passed with a conflict left in {leftover}"
    assert f"./{leftover}" in proc.stdout, proc.stdout + proc.stderr


def test_other_name_and_module_path_build(render: Any) -> None:
    """Names flow everywhere: a different project name and module path still build and test."""
    project = render({"project_name": "orders-api", "module_path": "example.com/team/orders"})
    assert (project / "cmd" / "orders-api" / "main.go").exists()
    assert (project / "go.mod").read_text().startswith("module example.com/team/orders\n")
    go(project, "vet", "./...")
    go(project, "test", "./cmd/...")
