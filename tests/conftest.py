"""Fixtures shared by the template's tests: rendered projects and built services."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from variants import TEMPLATE_ROOT, variant_id, variants

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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that takes `variant` runs once per available combination of
    # answers, as copier.yml defines them.
    if "variant" in metafunc.fixturenames:
        metafunc.parametrize("variant", variants(), ids=variant_id, scope="session")


@pytest.fixture(scope="session")
def render(copie_session: Any) -> Render:
    """Render the template once per set of answers in this test session."""
    cache: dict[str, Path] = {}

    def _render(answers: dict[str, Any]) -> Path:
        key = repr(sorted(answers.items()))
        if key not in cache:
            result = copie_session.copy(extra_answers=answers, template_dir=TEMPLATE_ROOT)
            assert result.exception is None, f"render failed: {result.exception}"
            assert result.exit_code == 0
            cache[key] = Path(result.project_dir)
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def project(variant: dict[str, Any], render: Render) -> Path:
    """The rendered project of one variant."""
    return render(variant)


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


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
def service_binary(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variant's service, built static and with -trimpath like the image's (test_deploy runs the
    Dockerfile's own build command)."""
    name = answers_of(project)["project_name"]
    out = tmp_path_factory.mktemp("bin") / name
    go(project, "build", "-trimpath", "-o", str(out), f"./cmd/{name}", env={"CGO_ENABLED": "0"})
    return out


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
