"""Every variant builds and passes its own checks right after `copier copy`: go build, go vet,
go test -race, golangci-lint, and go.mod already tidy."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import go

pytestmark = pytest.mark.slow


def test_go_mod_is_tidy(project: Path) -> None:
    # `go mod tidy -diff` prints the changes tidy would make and exits 1 if there are any.
    go(project, "mod", "tidy", "-diff")


def test_builds_and_vets(project: Path) -> None:
    go(project, "build", "./...")
    go(project, "vet", "./...")


def test_own_tests_pass_with_race_detector(project: Path) -> None:
    out = go(project, "test", "-race", "-count=1", "./...")
    assert "FAIL" not in out
    assert "ok " in out, out


def test_golangci_lint_clean(project: Path) -> None:
    proc = subprocess.run(
        ["golangci-lint", "run", "./..."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"golangci-lint:\n{proc.stdout}\n{proc.stderr}"


def test_other_name_and_module_path_build(render: Any) -> None:
    """Names flow everywhere: a different project name and module path still build and test."""
    project = render({"project_name": "orders-api", "module_path": "example.com/team/orders"})
    assert (project / "cmd" / "orders-api" / "main.go").exists()
    assert (project / "go.mod").read_text().startswith("module example.com/team/orders\n")
    go(project, "vet", "./...")
    go(project, "test", "./cmd/...")
