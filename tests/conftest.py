"""Fixtures shared by the template's tests: rendered projects and built services."""

from __future__ import annotations

import calendar
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2_ansible_filters.core_filters
import pytest
import yaml

from tooling.variants import TEMPLATE_ROOT, variant_id, variants

Render = Callable[[dict[str, Any]], Path]


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
def service_binary(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variant's service, built static and with -trimpath like the image's (test_deploy runs the
    Dockerfile's own build command)."""
    name = answers_of(project)["project_name"]
    out = tmp_path_factory.mktemp("bin") / name
    go(project, "build", "-trimpath", "-o", str(out), f"./cmd/{name}", env={"CGO_ENABLED": "0"})
    return out
