"""The README's Quick start, run as written on a fresh clone with a fresh virtual environment.

The commands are read from README.md (tooling/quickstart.py), so the README cannot drift from
what works. The second command runs the whole test suite; run inside that suite, it runs the
suite's render tests of the default answers only (PYTEST_ADDOPTS narrows what pytest collects,
the command itself is unchanged): what it proves here is that the command installs what the tests
need and that they run and pass. The whole suite is proven by running the command itself, which
is what CI does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import commit_all, git, snapshot_into
from tooling import quickstart
from tooling.variants import TEMPLATE_ROOT

pytestmark = pytest.mark.slow


def fresh_clone(dst: Path) -> Path:
    """A clone of this repository with the working tree's changes committed, and no tags."""
    git(dst.parent, "clone", "--quiet", "--no-local", "--no-tags", str(TEMPLATE_ROOT), str(dst))
    for rel in filter(None, git(dst, "ls-files", "-z").split("\0")):
        (dst / rel).unlink()
    snapshot_into(dst)
    commit_all(dst, "the working tree")
    assert not git(dst, "tag", "--list"), "a fresh clone of main carries no tags"
    return dst


def user_environment() -> dict[str, str]:
    """The environment of a user's shell: no virtual environment of these tests active."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    ours = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(d for d in env["PATH"].split(os.pathsep) if d != ours)
    return env


def run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def test_readme_has_two_commands() -> None:
    quick = quickstart.read()
    assert "copier copy" in quick.generate
    assert "nox" in quick.test


def test_quick_start_as_written(tmp_path: Path) -> None:
    quick = quickstart.read()
    clone = fresh_clone(tmp_path / "copier-go-service")
    env = user_environment()

    generated = run(quick.generate, clone, env)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    service = tmp_path / "my-service"
    answers = yaml.safe_load((service / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "my-service"
    assert (service / "cmd" / "my-service" / "main.go").exists()
    assert "make run" in generated.stderr, "the closing message gives the next commands"

    tested = run(quick.test, clone, {**env, "PYTEST_ADDOPTS": "-k 'test_render and defaults'"})
    output = tested.stdout + tested.stderr
    assert tested.returncode == 0, output
    assert "Session lint was successful" in output, output
    assert "Session tests was successful" in output, output
    summary = [line for line in output.splitlines() if " passed" in line and " in " in line]
    assert summary, f"pytest ran no tests:\n{output}"
    assert " failed" not in summary[-1], summary[-1]
