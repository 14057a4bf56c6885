"""The README's Quick start, run as written on a fresh clone with a fresh virtual environment.

The commands are read from README.md (tooling/quickstart.py), so the README cannot drift from
what works. The second command runs the whole test suite; run inside that suite, it runs the
suite's render tests of the default answers only (PYTEST_ADDOPTS narrows what pytest collects,
the command itself is unchanged): what it proves here is that the command installs what the tests
need and that they run and pass. The whole suite is proven by running the command itself, which
is what CI does.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
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


def pythons() -> dict[tuple[int, int], Path]:
    """The CPython interpreters on this machine by version: on PATH as python3.X, and pyenv's."""
    found: dict[tuple[int, int], Path] = {}
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [Path(p) for p in sorted(glob.glob(f"{pyenv_root}/versions/*/bin/python3.*"))]
    candidates += [Path(p) for p in filter(None, (shutil.which(f"python3.{m}") for m in range(6, 20)))]
    for path in candidates:
        if not re.fullmatch(r"python3\.\d+", path.name):
            continue
        out = subprocess.run(
            [str(path), "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode == 0:
            major, minor = map(int, out.stdout.split())
            found.setdefault((major, minor), path)
    return found


def python_as_python3(want: str, pick: Callable[[tuple[int, int]], bool], tmp_path: Path) -> Path:
    """A directory whose python3 is an interpreter of the version pick accepts, the newest one; the
    test fails in CI when there is none (CI machines have them), and skips, saying so, elsewhere."""
    versions = sorted((v for v in pythons() if pick(v)), reverse=True)
    if not versions:
        message = f"no {want} on this machine (looked on PATH and in pyenv)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    bin_dir = tmp_path / "python-bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(pythons()[versions[0]])
    return bin_dir


def python_version(env: dict[str, str]) -> tuple[int, int]:
    """The version of python3 in this environment."""
    out = subprocess.run(
        ["python3", "-c", "import sys; print(*sys.version_info[:2])"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    major, minor = map(int, out)
    return major, minor


def user_environment(python_dir: Path | None = None) -> dict[str, str]:
    """The environment of a user's shell: no virtual environment of these tests active, and
    python3 from python_dir when given."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    ours = str(Path(sys.executable).parent)
    path = [d for d in env["PATH"].split(os.pathsep) if d != ours]
    env["PATH"] = os.pathsep.join(([str(python_dir)] if python_dir else []) + path)
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


# What makes a line of the Quick start's output look like trouble to someone new.
ALARMING = re.compile(r"warn|not found|error|traceback|deprecat", re.IGNORECASE)
TROUBLESHOOTING = TEMPLATE_ROOT / "docs" / "troubleshooting.md"


def alarming(output: str) -> list[str]:
    return sorted({line.strip() for line in output.splitlines() if ALARMING.search(line)})


def explained(line: str) -> bool:
    """Whether docs/troubleshooting.md quotes the line (inline in backticks or double quotes, or in
    a code block), up to its variable parts (versions, paths)."""
    text = TROUBLESHOOTING.read_text()
    blocks = re.findall(r"^```\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```\n.*?^```$", "", text, flags=re.MULTILINE | re.DOTALL)
    quoted = re.findall(r"`([^`\n]{12,})`|\"([^\"\n]{12,})\"", prose)
    quotes = [q.strip() for pair in quoted for q in pair] + "".join(blocks).splitlines()
    patterns = [re.escape(q).replace(VERSION_QUOTED, r"\S+") for q in quotes if q.strip()]
    return any(re.search(p, line) for p in patterns)


# The version troubleshooting.md quotes, which stands for any.
VERSION_QUOTED = re.escape("0.0.0.post294.dev0+7bcf7c1")


def test_readme_has_two_commands() -> None:
    quick = quickstart.read()
    assert "copier copy" in quick.generate
    assert "nox" in quick.test


def test_quick_start_as_written(tmp_path: Path) -> None:
    """On a Python newer than 3.11 (the README says 3.11+; nox sessions once pinned to 3.11 were
    skipped there, and the command passed having run nothing)."""
    quick = quickstart.read()
    clone = fresh_clone(tmp_path / "copier-go-service")
    env = user_environment(python_as_python3("Python newer than 3.11", lambda v: v > (3, 11), tmp_path))

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
    worrying = alarming(generated.stdout + generated.stderr + output)
    unexplained = [line for line in worrying if not explained(line)]
    assert not unexplained, f"worrying lines that troubleshooting.md does not explain: {unexplained}"
    # The sessions ran on the Python the user has, not on another one found elsewhere (a 3.11).
    for session in ("lint", "tests"):
        venv_python = clone / ".nox" / session / "bin" / "python"
        ran_on = subprocess.run(
            [str(venv_python), "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert tuple(map(int, ran_on)) == python_version(env), f"session {session} ran on Python {ran_on}"


def test_test_command_refuses_a_python_older_than_3_11(tmp_path: Path) -> None:
    """The test command fails, naming the version it needs, rather than skipping its sessions."""
    quick = quickstart.read()
    clone = fresh_clone(tmp_path / "copier-go-service")
    env = user_environment(python_as_python3("Python older than 3.11", lambda v: v < (3, 11), tmp_path))
    # Narrowed, as above, for the case this test exists to catch: the suite running anyway.
    tested = run(quick.test, clone, {**env, "PYTEST_ADDOPTS": "-k 'test_render and defaults'"})
    output = tested.stdout + tested.stderr
    assert tested.returncode != 0, output
    assert "the tests need Python 3.11 or newer" in output, output
