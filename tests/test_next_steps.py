"""The next steps a new user is given, run as given: the closing message of `copier copy` and the
generated README's "Run it" say which commands start the service; run in a rendered project, they
must bring it up ready.

There is no Docker engine here: `docker compose up -d --wait <services>` is checked against the
Compose file's services and played by the tests' own PostgreSQL and Redis, and each `export` of a
server's URL gets the URL of that real server instead of the Compose one. Everything else runs as
written (`make migrate`, `make run`).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Render
from servers import PostgresServer, RedisServer
from service import clean_env, free_port, http_request, poll
from test_prompts import MESSAGE_AFTER_COPY, copier_jinja
from tooling.variants import SHAPE_QUESTIONS, choices, defaults, pairwise_variants

pytestmark = pytest.mark.slow

# The answers the next steps depend on: the servers a service needs before it can start.
DEPENDENCIES = ("database", "cache")


def next_steps(answers: dict[str, Any], dst: str) -> list[str]:
    """The commands of the closing message, as copier prints it for these answers."""
    context = {**defaults(), **answers, "_copier_answers": {"_src_path": "gh:acme/t"}}
    context["_copier_conf"] = {"dst_path": dst}
    message = copier_jinja().from_string(MESSAGE_AFTER_COPY).render(context)
    block = message.split("Next:\n", 1)[1].split("\n\n", 1)[0]
    return [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines() if line.strip()]


def readme_run_it(project: Path) -> list[str]:
    """The commands of the sh blocks of the generated README's "Run it" section."""
    section = re.search(r"^## Run it\n(.*?)(?=^## )", (project / "README.md").read_text(), re.M | re.S)
    assert section is not None, "the generated README has no 'Run it' section"
    blocks = re.findall(r"^```sh\n(.*?)^```", section.group(1), re.M | re.S)
    lines = (line for block in blocks for line in block.splitlines())
    return [re.sub(r"\s+#.*$", "", line).strip() for line in lines if line.strip()]


def dependency_rows() -> list[dict[str, Any]]:
    """Every combination of the dependency answers, the other answers at their defaults."""
    base = {name: defaults()[name] for name in SHAPE_QUESTIONS}
    axes = [[c.value for c in choices(name) if c.available] for name in DEPENDENCIES]
    return [{**base, **dict(zip(DEPENDENCIES, values, strict=True))} for values in itertools.product(*axes)]


def test_next_steps_depend_only_on_the_dependencies() -> None:
    """Running the steps for each combination of dependencies covers the pairwise set: every
    combination of it is given the steps of its dependencies' combination."""
    by_dependencies = {tuple(r[n] for n in DEPENDENCIES): next_steps(r, "x") for r in dependency_rows()}
    for row in pairwise_variants():
        assert next_steps(row, "x") == by_dependencies[tuple(row[n] for n in DEPENDENCIES)], row


@pytest.mark.parametrize(
    "answers",
    dependency_rows(),
    ids=lambda a: ",".join(f"{n}={a[n]}" for n in DEPENDENCIES),
)
def test_next_steps_start_the_service(
    answers: dict[str, Any],
    render: Render,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    # A copy: the steps make it a git repository, and the rendering is shared with other tests.
    project = tmp_path / "service"
    shutil.copytree(render(answers), project)
    steps = next_steps(answers, str(project))
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    port, admin = free_port(), free_port()
    env = clean_env(HOME=str(Path.home()), HTTP_ADDR=f"127.0.0.1:{port}", ADMIN_ADDR=f"127.0.0.1:{admin}")
    urls = {"DATABASE_URL": postgres_server.new_database, "REDIS_URL": redis_server.new_url}
    cwd = None
    readme = readme_run_it(project)
    run_step = None
    for step in steps:
        words = shlex.split(step)
        if words[0] == "cd":
            cwd = Path(words[1])
        elif words[0] == "git":
            assert cwd == project, "the steps start with `cd` into the project"
            done = subprocess.run(
                step,
                shell=True,
                cwd=cwd,
                env={**env, **GIT_IDENTITY},
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, f"{step} failed:\n{done.stdout}\n{done.stderr}"
        elif words[:4] == ["docker", "compose", "up", "-d"]:
            services = [w for w in words[4:] if not w.startswith("-")]
            assert set(services) <= set(compose["services"]), f"{step}: not services of docker-compose.yml"
        elif words[0] == "export":
            name = words[1].split("=", 1)[0]
            assert name in urls, f"{step}: a setting these steps do not know"
            env[name] = urls[name]()
        elif words[:2] == ["make", "migrate"]:
            assert cwd == project, "the steps start with `cd` into the project"
            migrated = subprocess.run(
                words, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
            )
            assert migrated.returncode == 0, f"{step} failed:\n{migrated.stdout}\n{migrated.stderr}"
            # It logs as `make run` does: text for a person at a terminal.
            assert not json_lines(migrated.stdout + migrated.stderr), migrated.stdout
        elif words[:2] == ["make", "run"]:
            run_step = words
        if (words[0] != "cd" and run_step is None) or words[:2] == ["make", "run"]:
            # What it takes to start the service, the README's "Run it" says too.
            assert step in readme, f"the README's 'Run it' lacks the closing message's `{step}`"
    assert run_step is not None, f"the next steps never run the service: {steps}"
    assert cwd == project, "the steps start with `cd` into the project"
    for setting in ("DATABASE_URL", "REDIS_URL"):
        needed = setting in (project / ".env.example").read_text()
        assert (setting in env) is needed, f"the next steps {'do not set' if needed else 'set'} {setting}"
    with subprocess.Popen(
        run_step,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            # True once ready, False if `make run` exits first (it builds the binary: minutes at most).
            ready = poll(
                lambda: False if proc.poll() is not None else (_status(port) == 200 or None),
                timeout=600,
                interval=0.5,
                what="`make run` to serve a ready service",
            )
            version = json.loads(http_request(port, "GET", "/version").body) if ready else {}
        finally:
            # make and the service it started: SIGTERM, as Ctrl-C's SIGINT would reach both.
            os.killpg(proc.pid, signal.SIGTERM)
            output, _ = proc.communicate(timeout=60)
        assert ready, f"`make run` exited {proc.returncode}:\n{output}"
        assert not json_lines(output), output
    # The steps made it a git repository, whose commit `make run`'s build baked in.
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    )
    assert version["commit"] == head.stdout.strip(), version


def json_lines(output: str) -> list[str]:
    """The lines of output that are JSON objects: log records in the JSON format."""
    return [line for line in output.splitlines() if line.startswith("{") and line.endswith("}")]


# Who commits, as a user's git configuration says.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "A User",
    "GIT_AUTHOR_EMAIL": "user@example.com",
    "GIT_COMMITTER_NAME": "A User",
    "GIT_COMMITTER_EMAIL": "user@example.com",
}


def _status(port: int) -> int | None:
    """The status of GET /readyz, or None while nothing answers."""
    try:
        return http_request(port, "GET", "/readyz", timeout=2).status
    except OSError:
        return None
