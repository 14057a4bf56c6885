"""Rendering: every variant renders clean, hand-written-looking output, and bad answers are
refused with their message before anything is written."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import go, mark_echo_unfinished
from tooling.variants import SHAPE_QUESTIONS, TEMPLATE_ROOT, choices, defaults, refused_choices

# The render tier: cheap checks, so every combination of the available answers that change Go code
# takes them, with the answers that change only the image and deployment files in turn
# (tooling/variants.py, render_variants); `--combinations=all` renders every combination.
pytestmark = pytest.mark.every_combination

# Jinja's tags, not Go's nested braces: {{ name }}, {{ x | filter }}, {% tag %}, {# comment #}.
JINJA_LEFTOVER = re.compile(r"\{\{-?\s*[A-Za-z_][\w.]*\s*(\|[^}]*)?-?\}\}|\{%-?\s+\w|\w\s+-?%\}|\{#-?\s")
# GitHub Actions expressions, and docker/metadata-action's tag patterns (pattern={{version}}),
# look like Jinja but belong in workflow files.
ACTIONS_EXPRESSION = re.compile(r"\$\{\{[^}]*\}\}|(?<=pattern=)(\{\{\w+\}\}\.?)+$")
# Handlebars' expressions ({{title}}, {{{html}}}), which the API reference's page template
# (api/redoc.hbs, copied as it is) is written in.
HANDLEBARS_EXPRESSION = re.compile(r"\{\{\{?\w+\}\}\}?")
# Grafana's legend templates ({{route}}), in the dashboard of deploy/observability/.
GRAFANA_LEGEND = re.compile(r'"legendFormat": "[^"]*"')


def text_files(project: Path) -> list[Path]:
    files = [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]
    return [p for p in files if b"\0" not in p.read_bytes()[:1024]]


def without_other_templates_braces(path: Path, line: str) -> str:
    if path.suffix == ".hbs":
        return HANDLEBARS_EXPRESSION.sub("", line)
    if path.parts[:2] == ("deploy", "observability") and path.suffix == ".json":
        return GRAFANA_LEGEND.sub("", line)
    return ACTIONS_EXPRESSION.sub("", line) if path.parts[:2] == (".github", "workflows") else line


def test_no_jinja_files_or_syntax_left(project: Path) -> None:
    assert not list(project.rglob("*.jinja"))
    leftovers = [
        f"{p.relative_to(project)}:{n}: {line}"
        for p in text_files(project)
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if JINJA_LEFTOVER.search(without_other_templates_braces(p.relative_to(project), line))
    ]
    assert not leftovers, "Jinja syntax in the output:\n" + "\n".join(leftovers)


def test_whitespace_reads_hand_written(project: Path) -> None:
    problems = []
    for p in text_files(project):
        text = p.read_text()
        name = p.relative_to(project)
        if "\n\n\n" in text:
            problems.append(f"{name}: a run of blank lines")
        if text and not text.endswith("\n"):
            problems.append(f"{name}: no final newline")
        if text.endswith("\n\n"):
            problems.append(f"{name}: blank lines at the end")
        if text.startswith("\n"):
            problems.append(f"{name}: starts with a blank line")
        if any(line != line.rstrip() for line in text.splitlines()):
            problems.append(f"{name}: trailing whitespace")
    assert not problems, "\n".join(problems)


def test_gofmt_clean(project: Path) -> None:
    out = subprocess.run(["gofmt", "-l", "."], cwd=project, capture_output=True, text=True, check=True)
    assert out.stdout == "", f"not gofmt-clean: {out.stdout}"


def test_go_mod_is_tidy(project: Path) -> None:
    # go.mod and go.sum are exactly what `go mod tidy` leaves: `-diff` prints what it would
    # change and exits 1 if anything.
    go(project, "mod", "tidy", "-diff")


def test_answers_file_records_the_answers(project: Path, variant: dict[str, Any]) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_src_path"]
    for question, value in variant.items():
        assert answers[question] == value


def test_example_api_files_follow_the_answer(project: Path, variant: dict[str, Any]) -> None:
    has_notes = (project / "internal" / "notes").is_dir()
    assert has_notes == variant["example_api"]
    readme = (project / "README.md").read_text()
    assert ("/v1/notes" in readme) == variant["example_api"]


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        ("project_name", "", "kebab-case"),
        ("project_name", "My Service", "kebab-case"),
        ("project_name", "-svc", "kebab-case"),
        ("project_name", "svc--api", "kebab-case"),
        ("project_name", "a" * 51, "at most 50"),
        ("module_path", "github.com/acme/my service", "the form github.com/acme/app"),
        ("module_path", "GitHub.com/acme/svc", "the form github.com/acme/app"),
        ("module_path", "github.com/acme/svc/", "the form github.com/acme/app"),
        ("module_path", "github.com//svc", "the form github.com/acme/app"),
        ("go_version", "1.25", "1.26 or newer"),
        ("go_version", "go1.26", "MAJOR.MINOR"),
        ("go_version", "1.26.1", "MAJOR.MINOR"),
        ("description", "  ", "write one sentence"),
        ("copyright_holder", " ", "name a person or organization"),
    ],
)
def test_invalid_answers_are_refused(copie: Any, question: str, answer: str, message: str) -> None:
    result = copie.copy(extra_answers={question: answer}, template_dir=TEMPLATE_ROOT)
    assert result.exception is not None, f"{question}={answer!r} was accepted"
    assert question in str(result.exception)
    assert message in str(result.exception)
    assert result.project_dir is None


def test_an_unfinished_variant_is_refused(copie: Any, tmp_path: Path) -> None:
    """How copier.yml offers a variant that is not built yet (its header): the choice carries a
    validator, and choosing it is refused with the reason. Every variant is built today, so a copy
    of the template gets an unfinished one, echo, which the tests then leave out."""
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_ROOT, template, ignore=shutil.ignore_patterns(".git", ".nox", ".venv"))
    mark_echo_unfinished(template)
    result = copie.copy(extra_answers={"http_framework": "echo"}, template_dir=template)
    assert result.exception is not None, "http_framework=echo rendered"
    assert "not yet available" in str(result.exception)


def test_matrix_is_read_from_copier_yml() -> None:
    # Guards the parametrizations: if copier.yml changed shape so that its choices were
    # no longer read, this fails instead of tests silently vanishing.
    base = defaults()
    for name in SHAPE_QUESTIONS:
        found = choices(name)
        assert len(found) >= 2, name
        assert any(c.value == base[name] and c.available for c in found), name
    assert all(c.refusal.startswith("not yet available") for c in refused_choices())


@pytest.mark.parametrize(
    ("license_id", "expected"),
    [("MIT", "MIT License"), ("Apache-2.0", "Apache License"), ("proprietary", None)],
)
def test_license(copie: Any, license_id: str, expected: str | None) -> None:
    result = copie.copy(
        extra_answers={"license": license_id, "copyright_holder": "Acme Corp"}, template_dir=TEMPLATE_ROOT
    )
    assert result.exception is None, result.exception
    license_file = Path(result.project_dir) / "LICENSE"
    if expected is None:
        assert not license_file.exists()
        return
    text = license_file.read_text()
    assert expected in text[:200]
    assert "Acme Corp" in text
    assert "[yyyy]" not in text
