"""Task runner. `nox` (no arguments) runs the lint of the template's Python and the
whole test suite; `nox -s bench` measures the generated service (CI runs it with
`-- --quick`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON_SOURCES = ("tests", "migrations", "bench", "tooling", "noxfile.py")
# golangci-lint is not here: each generated project installs the version its Makefile pins.
GO_TOOLS = ("github.com/rhysd/actionlint/cmd/actionlint@v1.7.12",)


def go_bin_dir() -> Path:
    gobin = subprocess.run(["go", "env", "GOBIN"], capture_output=True, text=True, check=True).stdout.strip()
    if gobin:
        return Path(gobin)
    gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True, check=True).stdout
    return Path(gopath.strip().split(os.pathsep)[0]) / "bin"


def ensure_go_tool(session: nox.Session, package: str) -> None:
    """Install a Go tool at the pinned version once per machine."""
    name = package.split("@")[0].rsplit("/", 1)[-1]
    version = package.split("@")[1].lstrip("v")
    exe = go_bin_dir() / name
    if exe.exists():
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
        if version in out.stdout + out.stderr:
            return
    session.log(f"installing {name} {version} (once per machine)")
    session.run("go", "install", package, external=True)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """The template's own Python is ruff-clean and ruff-formatted."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", *PYTHON_SOURCES)
    session.run("ruff", "format", "--check", *PYTHON_SOURCES)


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Every variant renders cleanly, builds, passes its own tests and lint, and honours the
    runtime contract over real HTTP; bad answers are refused at the prompt."""
    if shutil.which("go") is None:
        session.error("Go is required: https://go.dev/dl/")
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    for package in GO_TOOLS:
        ensure_go_tool(session, package)
    env = {"PATH": f"{go_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}"}
    session.run("pytest", *session.posargs, env=env)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmark the default and each framework and logger variant against bare net/http and write
    docs/performance.md and docs/performance.svg; `-- --quick` runs briefly and writes to a temporary
    directory (see bench/__main__.py). Not a default session: it measures, it does not test."""
    tools = {"go": "https://go.dev/dl/", "wrk": "apt-get install wrk", "taskset": "util-linux"}
    for tool, hint in tools.items():
        if shutil.which(tool) is None:
            session.error(f"{tool} is required: {hint}")
    session.install(*nox.project.dependency_groups(PYPROJECT, "bench"))
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(venv_backend="none")
def release_tags(session: nox.Session) -> None:
    """Create the git tags of every release listed in releases.toml (for whoever publishes the
    template: push them with `git push --tags`). Existing tags must name the listed commits."""
    from tooling.releases import tag_releases

    created = tag_releases(Path.cwd())
    session.log(f"created tags: {', '.join(created)}" if created else "every release tag exists already")
