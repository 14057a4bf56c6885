"""Task runner. `nox` (no arguments) runs the lint of the template's Python and the
whole test suite; `nox -s bench` measures the generated service (CI runs it with
`-- --quick`); `nox -s pins` reports pinned versions that have newer releases."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nox

# The sessions run on the Python that runs nox (the clone's .venv in the README's Quick start),
# whichever it is from 3.11 on: a session pinned to one version would be skipped, and nox exit 0,
# on a machine that has only another one. An older Python stops here, before anything runs.
MINIMUM_PYTHON = (3, 11)
if sys.version_info < MINIMUM_PYTHON:
    raise SystemExit(
        f"the tests need Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer; nox runs on "
        f"{sys.version.split()[0]} ({sys.executable}): make the virtual environment with a newer python3"
    )

# tooling/ is shared with the tests; nox loads this file without its directory on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]  # `nox -l` lists the others
nox.options.reuse_existing_virtualenvs = True
# A session whose interpreter cannot be found fails rather than being skipped.
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON_SOURCES = ("tests", "migrations", "bench", "tooling", "noxfile.py")
# One worker more than the cores (at most four): a third of the suite's time is spent waiting on
# services, servers and subprocesses, which a spare worker fills. Each worker takes whole answer
# combinations, so each is rendered and built once; Go's module and build caches are shared.
XDIST = (f"--numprocesses={min(4, (os.cpu_count() or 1) + 1)}", "--dist=loadgroup")
# The slowest tests, named at the end of every run: where the suite's time goes, measured.
DURATIONS = ("--durations=25",)
# golangci-lint is not here: each generated project installs the version its Makefile pins.
# kustomize renders the generated Kubernetes overlays (tests/test_deploy.py); the generated Makefile
# pins the same version for `make k8s-render`.
GO_TOOLS = (
    "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12",
    "sigs.k8s.io/kustomize/kustomize/v5@v5.8.2",
)


def go_bin_dir() -> Path:
    gobin = subprocess.run(["go", "env", "GOBIN"], capture_output=True, text=True, check=True).stdout.strip()
    if gobin:
        return Path(gobin)
    gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True, check=True).stdout
    return Path(gopath.strip().split(os.pathsep)[0]) / "bin"


def ensure_go_tool(session: nox.Session, package: str) -> None:
    """Install a Go tool at the pinned version once per machine."""
    path, version = package.split("@")
    # The command is the last path element, or the one before a major version suffix (.../v5).
    name = next(part for part in reversed(path.split("/")) if not re.fullmatch(r"v[0-9]+", part))
    exe = go_bin_dir() / name
    if exe.exists():
        # `--version` (actionlint) or `version` (kustomize).
        for flag in ("--version", "version"):
            out = subprocess.run([str(exe), flag], capture_output=True, text=True, check=False)
            if out.returncode == 0 and version.lstrip("v") in out.stdout + out.stderr:
                return
    session.log(f"installing {name} {version} (once per machine)")
    session.run("go", "install", package, external=True)


@nox.session(python=None)
def lint(session: nox.Session) -> None:
    """The template's own Python is ruff-clean and ruff-formatted."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", *PYTHON_SOURCES)
    session.run("ruff", "format", "--check", *PYTHON_SOURCES)


def pytest(session: nox.Session, *args: str) -> None:
    """Install what the tests need, pinned, and run pytest on every core."""
    if shutil.which("go") is None:
        session.error("Go is required: https://go.dev/dl/")
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    for package in GO_TOOLS:
        ensure_go_tool(session, package)
    env = {"PATH": f"{go_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}"}
    session.run("pytest", *XDIST, *DURATIONS, *args, *session.posargs, env=env)


def ensure_servers(session: nox.Session) -> None:
    """PostgreSQL and Redis, which the tests start on loopback, and Chromium, which opens the
    documentation site: Debian's packages, installed once per machine, as root or with sudo when it
    asks for no password (tooling/servers.py)."""
    from tooling.servers import CannotInstallError, install_commands, missing_packages

    missing = missing_packages()
    if not missing:
        return
    sudo = shutil.which("sudo") is not None and os.geteuid() != 0
    sudo_ok = (
        sudo and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
    )
    try:
        commands = install_commands(
            missing,
            apt_get=shutil.which("apt-get") is not None,
            root=os.geteuid() == 0,
            sudo_without_password=sudo_ok,
        )
    except CannotInstallError as err:
        session.error(str(err))
    session.log(f"installing {' '.join(missing)} (once per machine)")
    for command in commands:
        session.run(*command, external=True)
    if still := missing_packages():
        session.error(f"{' '.join(still)} still missing after apt-get install")


@nox.session(python=None)
def tests(session: nox.Session) -> None:
    """Tiers 1+2 and the rest: all combinations rendered, a pairwise set built, linted, run.

    Every combination of available answers renders cleanly (no Jinja left, gofmt, go.mod tidy,
    answers recorded); a pairwise covering array of them builds, passes its own tests and lint,
    builds as its Dockerfile says and honours the runtime contract over real HTTP; bad answers
    are refused at the prompt; updates keep users' work."""
    ensure_servers(session)
    pytest(session)


@nox.session(python=None)
def render_all(session: nox.Session) -> None:
    """Tier 1 alone: every combination of available answers rendered and checked, nothing built."""
    pytest(session, "-m", "every_combination")


@nox.session(python=None)
def matrix(session: nox.Session) -> None:
    """Tier 3 (not in CI): every check on every combination of available answers."""
    ensure_servers(session)
    pytest(session, "--combinations=all")


@nox.session(python=None)
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


@nox.session(python=None)
def docs(session: nox.Session) -> None:
    """Rewrite the README's table of questions from copier.yml, then build the documentation site
    into build/site with `mkdocs build --strict`: a broken link or anchor, or a page missing from
    the navigation, fails the build. The tests build it too."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("python", "-m", "tooling.site")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=None)
def screenshots(session: nox.Session) -> None:
    """Retake the landing page's pictures into docs/assets/: copier's prompts on a pseudo-terminal
    of 80 columns, and a generated service's /readyz in Chromium (tooling/screenshots.py)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("python", "-m", "tooling.screenshots")


@nox.session(venv_backend="none")
def release_tags(session: nox.Session) -> None:
    """Create the git tags of every release listed in releases.toml (for whoever publishes the
    template: push them with `git push --tags`). Existing tags must name the listed commits."""
    from tooling.releases import tag_releases

    created = tag_releases(Path.cwd())
    session.log(f"created tags: {', '.join(created)}" if created else "every release tag exists already")


@nox.session(python=None)
def gomod(session: nox.Session) -> None:
    """Resolve gomod/modules.toml and rewrite gomod/lock.json, from which every variant's go.mod
    and go.sum are rendered. Run it after changing a module there. Not a default session: it needs
    the Go module proxy."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("python", "-m", "tooling.gomod")


@nox.session(python=None)
def apicode(session: nox.Session) -> None:
    """Regenerate the example API's server code of every router (variants/router/*/openapi.gen.go)
    from the description, with each rendered project's `make generate`. Run it after changing
    api/openapi.yaml. Not a default session: oapi-codegen comes from the Go module proxy."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("python", "-m", "tooling.apicode")


@nox.session(python=False)
def pins(session: nox.Session) -> None:
    """Report the pinned versions (Python packages, nox, Go tools, the generated workflow's actions,
    the generated go.mod) that have newer releases, read from the files that pin them. A registry
    that cannot be reached is reported, not an error. Not a default session: it needs the network."""
    session.run(sys.executable, "-m", "tooling.pins", external=True)
