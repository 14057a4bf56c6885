"""Fixtures shared by the template's tests: rendered projects and built services."""

from __future__ import annotations

import calendar
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import jinja2_ansible_filters.core_filters
import pytest
import yaml

from servers import PostgresServer, RedisServer
from service import Launcher, Service, clean_env
from tooling.variants import (
    TEMPLATE_ROOT,
    SelectionError,
    combinations_summary,
    is_combination,
    pairwise_variants,
    parse_selection,
    render_variants,
    selected,
    variant_id,
    variants,
)

Render = Callable[[dict[str, Any]], Path]

# The tests commit in temporary repositories (generated projects, template versions); a fresh
# machine may have no git identity.
for _key, _value in {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@copier-go-service.invalid",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@copier-go-service.invalid",
}.items():
    os.environ.setdefault(_key, _value)


class CombinationReport:
    """Says at the end of a run which answer combinations passed, and how to reproduce each one
    that failed."""

    def __init__(self) -> None:
        self.outcomes: dict[str, bool] = {}
        self.image_sizes: dict[str, str] = {}
        # Seconds spent per test file, set-up and tear-down included: where the run's time goes.
        self.seconds: dict[str, float] = {}
        # The pytest-xdist workers that ran each combination's tests: one each, or every worker
        # renders and builds every combination again (pytest 9.2 with pytest-xdist 3.8 did so,
        # with nothing failing: xdist could not add its group to 9.2's node ids).
        self.workers: dict[str, set[str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        module = report.nodeid.split("::", 1)[0]
        self.seconds[module] = self.seconds.get(module, 0.0) + report.duration
        # The combination travels in the report (from pytest-xdist's workers too).
        properties = dict(report.user_properties)
        vid = properties.get("combination")
        if vid is not None and not report.skipped:
            self.outcomes[vid] = self.outcomes.get(vid, True) and not report.failed
        worker = getattr(getattr(report, "node", None), "gateway", None)
        if vid is not None and worker is not None:
            self.workers.setdefault(vid, set()).add(worker.id)
        # test_deploy measures the binary the Dockerfile builds, per base.
        if vid is not None and "image_size" in properties:
            self.image_sizes[vid] = str(properties["image_size"])

    def scattered(self) -> dict[str, set[str]]:
        """The combinations whose tests more than one worker ran."""
        return {vid: workers for vid, workers in self.workers.items() if len(workers) > 1}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if session.config.getoption("dist", "no") == "loadgroup" and self.scattered():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if terminalreporter.config.getoption("dist", "no") == "loadgroup" and (scattered := self.scattered()):
            terminalreporter.section("combinations split between workers", red=True)
            terminalreporter.write_line(
                f"{len(scattered)} combinations ran on more than one worker, each rendered and built "
                "on each: pytest-xdist's loadgroup did not group them (pin a pytest and "
                "pytest-xdist that work together, pyproject.toml)"
            )
            for vid, workers in sorted(scattered.items())[:5]:
                terminalreporter.write_line(f"  {vid}: {', '.join(sorted(workers))}")
        if self.outcomes:
            terminalreporter.section("answer combinations")
            # Every combination's answers, read only now: a run that reports nothing never needs them.
            known = {variant_id(v): v for v in variants()}
            for line in combinations_summary(self.outcomes, known):
                terminalreporter.write_line(line)
        if self.image_sizes:
            terminalreporter.section("image contents")
            for vid, size in sorted(self.image_sizes.items()):
                terminalreporter.write_line(f"{vid}: {size}")
        if self.seconds:
            # Summed over every worker: with n workers the run takes about total / n.
            terminalreporter.section("time per test file (all workers)")
            total = sum(self.seconds.values())
            for module, seconds in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
                share = 100 * seconds / total
                terminalreporter.write_line(f"{seconds / 60:7.1f} min  {share:3.0f} %  {module}")
            terminalreporter.write_line(f"{total / 60:7.1f} min  total")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--combinations",
        choices=("pairwise", "all"),
        default="pairwise",
        help="which answer combinations the build and runtime tests take: a pairwise covering array "
        "(default) or every combination; tests marked every_combination take every combination of "
        "the answers that change Go code, the others in turn (render_variants), or every one with all",
    )
    parser.addoption(
        "--combination",
        action="append",
        default=[],
        metavar="QUESTION=ANSWER,...",
        help="run only the tests of the answer combinations that have all these answers, e.g. "
        "http_framework=gin,logger=zap (repeat the option for either of several); tests that take no "
        "combination are deselected; an answer copier.yml does not offer, or a selection no test "
        "matches, is an error",
    )


# Filters and globals whose value is not the same at every call: a source using one is never
# compiled once for all.
IMPURE = re.compile(r"\|\s*(?:strftime|random|shuffle)\b|\bnow\s*\(")


def compile_each_template_once() -> None:
    """Make Jinja compile a template source once per test process rather than once per copy.

    copier builds a new Jinja environment for every copy, so each of the suite's thousand renders
    compiled every file, and every path part, again: half of a render's time. The compiled code
    depends on the source and the environment's settings, which are the key here, and on one
    thing more: Jinja folds a filter call on constants into its value when it compiles, so a
    source that reads the clock or draws at random (`'%Y' | strftime`, copyright_year's default)
    would keep its first value; such sources are compiled every time. What a copy renders is
    unchanged (shown byte for byte when this was added, and by the tests that set the year)."""
    original = jinja2.Environment.compile
    compiled: dict[tuple[Any, ...], Any] = {}

    def settings(env: jinja2.Environment) -> tuple[Any, ...]:
        autoescape = env.autoescape if isinstance(env.autoescape, bool) else id(env.autoescape)
        return (
            type(env),
            env.block_start_string,
            env.block_end_string,
            env.variable_start_string,
            env.variable_end_string,
            env.comment_start_string,
            env.comment_end_string,
            env.line_statement_prefix,
            env.line_comment_prefix,
            env.trim_blocks,
            env.lstrip_blocks,
            env.newline_sequence,
            env.keep_trailing_newline,
            env.optimized,
            env.is_async,
            autoescape,
            tuple(sorted(env.extensions)),
            tuple(sorted(env.filters)),
            tuple(sorted(env.tests)),
        )

    def compile_once(
        env: jinja2.Environment,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if raw or not isinstance(source, str) or IMPURE.search(source):
            return original(env, source, name, filename, raw, defer_init)
        key = (settings(env), source, name, filename, defer_init)
        if key not in compiled:
            compiled[key] = original(env, source, name, filename, raw, defer_init)
        return compiled[key]

    jinja2.Environment.compile = compile_once  # type: ignore[assignment,method-assign]


def pytest_configure(config: pytest.Config) -> None:
    compile_each_template_once()
    config.pluginmanager.register(CombinationReport(), "combination-report")
    try:
        config.stash[SELECTIONS] = [parse_selection(text) for text in config.getoption("combination")]
    except SelectionError as err:
        raise pytest.UsageError(f"--combination: {err}") from err


# The parsed --combination options: empty when none is given.
SELECTIONS = pytest.StashKey[list[dict[str, Any]]]()


def combination_of(item: pytest.Item) -> dict[str, Any] | None:
    """The answer combination a test takes as a parameter (`variant`, test_dependencies'
    `combination`), if any."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    found = [value for value in callspec.params.values() if is_combination(value)]
    return found[0] if found else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that takes `variant` runs once per combination of available answers, as
    # copier.yml defines them: every combination for the render tests, a pairwise covering array
    # for the ones that build and run the service (all of them with --combinations=all).
    if "variant" in metafunc.fixturenames:
        if metafunc.config.getoption("combinations") == "all":
            combos = variants()
        elif metafunc.definition.get_closest_marker("every_combination") is not None:
            combos = render_variants()
        else:
            combos = pairwise_variants()
        # A test marked only_combinations takes those of them its `keep` accepts, and its `extra`
        # combinations besides (the tracing tests take the ones that trace, and one with every
        # dependency).
        narrowed = metafunc.definition.get_closest_marker("only_combinations")
        if narrowed is not None:
            combos = [c for c in combos if narrowed.kwargs["keep"](c)]
            combos += [c for c in narrowed.kwargs.get("extra", ()) if c not in combos]
        # With --combination, only the matching ones (when none matches, the test is deselected later).
        selections = metafunc.config.stash.get(SELECTIONS, [])
        combos = [c for c in combos if selected(c, selections)] or combos if selections else combos
        metafunc.parametrize("variant", combos, ids=variant_id, scope="session")


# Before pytest-xdist's own hook, which reads the xdist_group marks added here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selections = config.stash.get(SELECTIONS, [])
    if selections:
        kept = [item for item in items if (c := combination_of(item)) is not None and selected(c, selections)]
        if not kept:
            given = " or ".join(config.getoption("combination"))
            raise pytest.UsageError(
                f"--combination {given}: no collected test takes such a combination (the build "
                "and runtime tests take the pairwise set: `pytest --collect-only -q tests/test_build.py`)"
            )
        keep = set(map(id, kept))
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in keep])
        items[:] = kept
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "variant" in callspec.params:
            vid = variant_id(callspec.params["variant"])
            item.user_properties.append(("combination", vid))
            # With pytest-xdist's --dist loadgroup one worker takes every test of a combination,
            # so that the combination is rendered and built once.
            item.add_marker(pytest.mark.xdist_group(vid))


@pytest.fixture(scope="session")
def render(copie_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Render:
    """Render the template once per set of answers in this test session, from a snapshot of its
    working tree outside git: copier clones a git template for every copy, a third of a render's
    time. (The update tests render from git repositories, as users do.)"""
    cache: dict[str, Path] = {}
    template = tmp_path_factory.mktemp("template")
    snapshot_into(template)

    def _render(answers: dict[str, Any]) -> Path:
        key = repr(sorted(answers.items()))
        if key not in cache:
            result = copie_session.copy(extra_answers=answers, template_dir=template)
            assert result.exception is None, f"render failed: {result.exception}"
            assert result.exit_code == 0
            cache[key] = Path(result.project_dir)
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def project(variant: dict[str, Any], render: Render) -> Path:
    """The rendered project of one variant."""
    return render(variant)


# The refusal an unfinished variant's choice carries in copier.yml (its header says how).
UNFINISHED = "not yet available; choose stdlib for now"


# The echo router's line among http_framework's choices: `"echo: <when to pick it>": echo`.
ECHO_CHOICE = re.compile(r'^    "echo(?::[^"\n]*)?": echo\n', re.M)


def echo_choice(text: str) -> re.Match[str]:
    """The echo choice's line in copier.yml's text, found once."""
    found = list(ECHO_CHOICE.finditer(text))
    assert len(found) == 1, f"copier.yml's echo choice moved ({len(found)} found): update ECHO_CHOICE"
    return found[0]


def mark_echo_unfinished(template: Path) -> None:
    """Give a copy of the template an unfinished variant, as copier.yml offers one that is not built
    yet: the echo router's choice gets a validator. Every variant is built today."""
    copier_yml = template / "copier.yml"
    text = copier_yml.read_text()
    line = echo_choice(text)
    title = line[0].strip().rsplit(": echo", 1)[0]
    unfinished = f'    {title}:\n      value: echo\n      validator: "{UNFINISHED}"\n'
    copier_yml.write_text(text[: line.start()] + unfinished + text[line.end() :])


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def year_clock(monkeypatch: pytest.MonkeyPatch, year: int) -> None:
    """Set the clock copier's `strftime` filter reads (it calls time.localtime()) to mid-`year`."""
    epoch = calendar.timegm((year, 6, 15, 12, 0, 0))

    def localtime(second: float | None = None) -> time.struct_time:
        return time.localtime(epoch if second is None else second)

    fake_time = SimpleNamespace(strftime=time.strftime, localtime=localtime)
    monkeypatch.setattr(jinja2_ansible_filters.core_filters, "time", fake_time)


def go(project: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None) -> str:
    """Run a go command in the project and return its combined output; fail on error."""
    proc = subprocess.run(
        ["go", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, f"go {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def per_project() -> dict[tuple[str, Path], Any]:
    """What a session fixture made for a rendered project, kept for the whole session: pytest sets up
    a parametrized session fixture again whenever the tests it runs switch from one combination to
    another and back (other test modules come between), which would build each service, and
    migrate each database, hundreds of times."""
    return {}


@pytest.fixture(scope="session")
def service_binary(
    project: Path, tmp_path_factory: pytest.TempPathFactory, per_project: dict[tuple[str, Path], Any]
) -> Path:
    """The variant's service, built static and with -trimpath like the image's (test_deploy runs the
    Dockerfile's own build command)."""
    key = ("service_binary", project)
    if key not in per_project:
        name = answers_of(project)["project_name"]
        out = tmp_path_factory.mktemp("bin") / name
        go(project, "build", "-trimpath", "-o", str(out), f"./cmd/{name}", env={"CGO_ENABLED": "0"})
        per_project[key] = out
    binary: Path = per_project[key]
    return binary


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "--all")
    if git(repo, "status", "--porcelain"):
        git(repo, "commit", "--quiet", "--no-verify", "-m", message)


def snapshot_into(dst: Path) -> None:
    """Copy the template as it is in the working tree (committed or not, ignored files left out)."""
    listed = git(TEMPLATE_ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for rel in filter(None, listed.split("\0")):
        src = TEMPLATE_ROOT / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)


# -- real dependencies: PostgreSQL and Redis (tests/servers.py) ------------------------------------------
#
# One server of each per test process (per pytest-xdist worker), started when a test first needs it;
# every service gets a fresh database (or Redis database index) of its own. Tests that stop a server
# under a running service take a dedicated one, so that no other test loses its dependency.

DEPENDENCY_SETTINGS = ("DATABASE_URL", "REDIS_URL")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone, which it may stop and start."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server for this test alone, which it may stop and start."""
    with RedisServer() as server:
        yield server


def listed_settings(project: Path) -> set[str]:
    """The settings .env.example lists, set or commented out (`NAME=value`, `# NAME=value`): what the
    service reads."""
    text = (project / ".env.example").read_text()
    return set(re.findall(r"^#?[ \t]*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def dependency_urls(project: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """DATABASE_URL and REDIS_URL, of the ones the project lists, naming a fresh database of the
    session's servers (each server is started when first needed)."""
    listed = listed_settings(project)
    urls: dict[str, str] = {}
    if "DATABASE_URL" in listed:
        urls["DATABASE_URL"] = request.getfixturevalue("postgres_server").new_database()
    if "REDIS_URL" in listed:
        urls["REDIS_URL"] = request.getfixturevalue("redis_server").new_url()
    return urls


def migrate(binary: Path, env: dict[str, str]) -> None:
    """`<binary> migrate`: the database gets the service's schema."""
    proc = subprocess.run(
        [str(binary), "migrate"],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, (
        f"`{binary.name} migrate` exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )


@pytest.fixture(scope="session")
def dependency_env(
    project: Path, request: pytest.FixtureRequest, per_project: dict[tuple[str, Path], Any]
) -> dict[str, str]:
    """The environment that connects the variant's service to its dependencies, a fresh database
    migrated for it: empty for a variant that needs none."""
    key = ("dependency_env", project)
    if key not in per_project:
        urls = dependency_urls(project, request)
        if "DATABASE_URL" in urls:
            migrate(request.getfixturevalue("service_binary"), urls)
        per_project[key] = urls
    env: dict[str, str] = per_project[key]
    return dict(env)


# -- a running service (tests/service.py) --------------------------------------------------------------


@pytest.fixture
def launch(service_binary: Path, dependency_env: dict[str, str]) -> Iterator[Launcher]:
    """Start the service with extra environment variables, connected to real servers of the
    dependencies it lists; every instance is stopped after the test."""
    launcher = Launcher(service_binary, dependency_env)
    yield launcher
    problems = list(launcher.stop_all())
    if problems:
        pytest.fail("\n\n".join(problems))


@pytest.fixture
def service(launch: Launcher) -> Service:
    """The service with its default configuration, ready."""
    return launch()


@pytest.fixture
def answers(project: Path) -> dict[str, Any]:
    return answers_of(project)


@pytest.fixture
def needs_example_api(answers: dict[str, Any]) -> None:
    if not answers["example_api"]:
        pytest.skip("needs the example API (POST /v1/notes), which this variant was rendered without")
