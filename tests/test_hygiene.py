"""The template's own hygiene: output that does not depend on the clock, stray files that never
reach a project, a design document that names real paths, and Python in layers."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

from conftest import answers_of, year_clock
from tooling.covering import pairwise
from tooling.site import README_TABLE, go_modules, readme_questions_table
from tooling.variants import (
    SHAPE_QUESTIONS,
    TEMPLATE_ROOT,
    TEXT_QUESTIONS,
    UnsupportedDefaultError,
    choices,
    defaults,
    pairwise_variants,
    questions,
    render,
    render_variants,
    variants,
)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def rendered(root: Path) -> dict[str, Any]:
    """The files and the recorded answers, less the template commit: copying a checkout with
    uncommitted changes records a fresh commit each time."""
    files: dict[str, Any] = tree(root)
    del files[".copier-answers.yml"]
    files["answers"] = {k: v for k, v in answers_of(root).items() if k != "_commit"}
    return files


def copy_head(dst: Path, answers: dict[str, Any]) -> Path:
    run_copy(str(TEMPLATE_ROOT), dst, data=answers, vcs_ref="HEAD", defaults=True, quiet=True)
    return dst


@pytest.mark.parametrize("license_id", ["MIT", "Apache-2.0"])
def test_same_answers_render_the_same_files_in_any_year(
    license_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The copyright year is an answer: the clock only supplies its default at the first copy."""
    year_clock(monkeypatch, 2026)
    first = copy_head(tmp_path / "2026", {"license": license_id})
    assert answers_of(first)["copyright_year"] == 2026
    assert re.search(r"Copyright (\(c\) )?2026 ", (first / "LICENSE").read_text())

    # The same answers, recorded year included, a few years later.
    year_clock(monkeypatch, 2031)
    answers = {k: v for k, v in answers_of(first).items() if not k.startswith("_")}
    again = copy_head(tmp_path / "2031", answers)

    assert rendered(again) == rendered(first)
    # Without the recorded answer the default follows the clock, so the clock was really moved.
    fresh = copy_head(tmp_path / "fresh", {"license": license_id})
    assert answers_of(fresh)["copyright_year"] == 2031


def test_proprietary_records_no_year(tmp_path: Path) -> None:
    project = copy_head(tmp_path / "p", {"license": "proprietary"})
    assert "copyright_year" not in answers_of(project)
    assert not (project / "LICENSE").exists()


# Editor and OS leftovers a maintainer's checkout may have inside template/.
JUNK = (
    ".DS_Store",
    "internal/web/.DS_Store",
    "._README.md.jinja",
    "~$notes.docx",
    "Makefile.jinja~",
    "internal/config/.config.go.swp",
    "__pycache__/helper.cpython-311.pyc",
    "stray.pyc",
    "Thumbs.db",
    "desktop.ini",
    ".git/HEAD",
)


def test_editor_and_os_junk_is_not_rendered(tmp_path: Path) -> None:
    template = tmp_path / "template-copy"
    # The repository's tracked files, where copier.yml and the template's includes are found.
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=TEMPLATE_ROOT, capture_output=True, text=True, check=True
    ).stdout
    for rel in filter(None, tracked.split("\0")):
        if (TEMPLATE_ROOT / rel).is_file():
            (template / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE_ROOT / rel, template / rel)
    for rel in JUNK:
        (template / "template" / rel).parent.mkdir(parents=True, exist_ok=True)
        (template / "template" / rel).write_text("junk\n")

    project = tmp_path / "project"
    run_copy(str(template), project, defaults=True, quiet=True)

    rendered = set(tree(project))
    assert not rendered & set(JUNK), f"junk rendered: {sorted(rendered & set(JUNK))}"
    assert not [f for f in rendered if "junk" in f or f.endswith((".pyc", "~"))]
    # The template's own dotfiles are not caught by the patterns.
    assert {".gitignore", ".dockerignore", ".env.example", ".github/workflows/ci.yml"} <= rendered


# A backticked name is read as a path of this repository when its first folder is one of the
# repository's, or when it ends in a slash or a known file extension.
PATH_SUFFIXES = (".py", ".md", ".yml", ".yaml", ".toml", ".go", ".jinja", ".txt", ".json", ".svg")
JINJA_SPAN = re.compile(r"\{[{%#].*?[}%#]\}")


def path_like(token: str, top_level: set[str]) -> bool:
    bare = JINJA_SPAN.sub("", token)
    if not bare or re.search(r"[\s\"']", bare) or bare.startswith(("-", ".")):
        return False
    if "/" in bare:
        return bare.split("/", 1)[0] in top_level or bare.endswith(("/", *PATH_SUFFIXES))
    return bare.endswith(PATH_SUFFIXES)


def named_paths(markdown: str, top_level: set[str]) -> list[str]:
    prose = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return [t for t in re.findall(r"`([^`\n]+)`", prose) if path_like(t, top_level)]


def test_path_reading_catches_what_it_should() -> None:
    top = {"template", "tests"}
    assert named_paths("`template/LICENSE` and `variants/router/chi.go.jinja`", top) == [
        "template/LICENSE",
        "variants/router/chi.go.jinja",
    ]
    not_paths = "`web.Observe` `BenchmarkServe/bare` `go mod tidy` `.jinja` `0.3.0` `{%-`"
    assert named_paths(not_paths, top) == []


def test_design_document_names_only_paths_that_exist() -> None:
    doc = TEMPLATE_ROOT / "docs" / "template-design.md"
    top_level = {p.name for p in TEMPLATE_ROOT.iterdir() if not p.name.startswith(".")}
    names = named_paths(doc.read_text(), top_level)
    assert len(names) >= 10, names  # the reading still finds the document's paths
    missing = [n for n in names if not (TEMPLATE_ROOT / n).exists() and not (doc.parent / n).exists()]
    assert not missing, f"docs/template-design.md names paths that do not exist: {missing}"


def test_includes_say_where_they_are_resolved_from() -> None:
    for path in (TEMPLATE_ROOT / "template").rglob("*.jinja"):
        text = path.read_text()
        if "{% include" in text or "{%- include" in text:
            assert "resolved from the repository root" in text, f"{path}: say where includes resolve from"


# Where each answer may be read by the template's Jinja: its own files, and the README, which
# describes every answer. Anywhere else, a file would render differently per answer and the
# answer would no longer live in one place (docs/template-design.md).
ANSWER_HOMES = {
    "logger": ("template/internal/logging/", "variants/logging/", "variants/readme/logger/"),
    "http_framework": ("variants/router/",),
    "config_backend": ("template/internal/config/", "variants/config/"),
}
JINJA_TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)


def answer_readers(question: str) -> dict[str, int]:
    """Files of template/ and variants/ whose Jinja tags name the question, with how many do."""
    found: dict[str, int] = {}
    for top in ("template", "variants"):
        for path in sorted((TEMPLATE_ROOT / top).rglob("*")):
            if not path.is_file():
                continue
            name = str(path.relative_to(TEMPLATE_ROOT))
            tags = [t for t in JINJA_TAG.findall(path.read_text()) if re.search(rf"\b{question}\b", t)]
            if tags:
                found[name] = len(tags)
    return found


@pytest.mark.parametrize("question", sorted(ANSWER_HOMES))
def test_each_answer_is_read_only_in_its_own_files(question: str) -> None:
    homes = (*ANSWER_HOMES[question], "template/README.md.jinja")
    readers = answer_readers(question)
    assert readers or question == "http_framework", f"no file reads {question}: is the pattern stale?"
    strays = {name: n for name, n in readers.items() if not name.startswith(homes)}
    assert not strays, f"{question} is read outside its own files: {strays}"


def test_answer_readers_finds_what_it_should() -> None:
    assert answer_readers("logger").get("template/internal/logging/logging.go.jinja", 0) >= 1
    assert "variants/router/meta.jinja" in answer_readers("router_dir")


def test_choice_questions_are_classified() -> None:
    """SHAPE_QUESTIONS and TEXT_QUESTIONS are kept by hand: a new choice or bool question fails
    here until it is put in one of them."""
    choice_like = {n for n, q in questions().items() if "choices" in q or q.get("type") == "bool"}
    classified = set(SHAPE_QUESTIONS) | set(TEXT_QUESTIONS)
    assert not set(SHAPE_QUESTIONS) & set(TEXT_QUESTIONS)
    assert choice_like == classified, (
        f"classify in tooling/variants.py: {sorted(choice_like - classified)}; "
        f"not choice questions: {sorted(classified - choice_like)}"
    )


def readme_questions() -> dict[str, str]:
    """The rows of the README's table of questions: each question's name and the rest of its row."""
    section = re.search(
        r"^## The questions\n(.*?)(?=^## )", (TEMPLATE_ROOT / "README.md").read_text(), re.M | re.S
    )
    assert section is not None, "README.md has no '## The questions' section"
    return dict(re.findall(r"^\| `(\w+)` \|(.*)\|$", section.group(1), re.M))


def test_readme_table_is_generated_from_copier_yml() -> None:
    """The README's table of questions is the one tooling/site.py generates from copier.yml, as the
    site's reference is."""
    table = README_TABLE.search((TEMPLATE_ROOT / "README.md").read_text())
    assert table is not None, "README.md has no <!-- questions:begin --> ... <!-- questions:end --> table"
    assert table[2] == readme_questions_table(), "README.md's table of questions is stale: nox -s docs"


def test_readme_table_names_every_question_and_offered_choice() -> None:
    """The README's table of questions follows copier.yml: every question has a row, every choice
    that copier.yml offers is named in it, and no offered choice is called unavailable."""
    rows = readme_questions()
    assert set(rows) == set(questions()), "README.md's table of questions and copier.yml differ"
    for name, q in questions().items():
        if "choices" not in q or q.get("type") == "bool":
            continue
        offered = [c for c in choices(name) if c.available]
        for choice in offered:
            assert f"`{choice.value}`" in rows[name], (
                f"README.md: `{name}`'s row does not name `{choice.value}`"
            )
        if all(c.available for c in choices(name)):
            assert "not yet available" not in rows[name], f"README.md calls a choice of `{name}` unavailable"
    for name, q in questions().items():
        if q.get("type") == "bool" and all(c.available for c in choices(name)):
            assert "not yet available" not in rows[name], f"README.md calls `{name}` unavailable"


def required_modules(go_mod: str) -> int:
    """The modules a go.mod requires, in single-line and block requires."""
    single = re.findall(r"^require \S+ v\S+$", go_mod, re.M)
    blocks = re.findall(r"^require \((.*?)^\)", go_mod, re.M | re.S)
    return len(single) + sum(len(re.findall(r"^\s+\S+ v\S+", block, re.M)) for block in blocks)


@pytest.mark.parametrize("router", [c.value for c in choices("http_framework") if c.available])
def test_router_module_counts_are_the_rendered_go_mods(router: str, tmp_path: Path) -> None:
    """The README's router table and the site's choosing page count the modules each router's
    go.mod requires: the count is that of a rendered go.mod."""
    project = copy_head(tmp_path / "p", {"http_framework": router})
    rendered = required_modules((project / "go.mod").read_text())
    assert go_modules({**defaults(), "http_framework": router}) == rendered
    row = r"^\| `" + router + r"` \| [^|]+ \| (\d+) \|"
    table = re.search(row, (TEMPLATE_ROOT / "README.md").read_text(), re.M)
    assert table is not None, f"README.md's router table has no row for {router}"
    assert int(table[1]) == rendered, f"README.md: {table[1]} modules for {router}; go.mod has {rendered}"


def test_readme_counts_the_combinations_copier_yml_gives() -> None:
    """The counts of the README's Combinations section are those of copier.yml's answers today."""
    text = (TEMPLATE_ROOT / "README.md").read_text()
    axes = {q: [c.value for c in choices(q) if c.available] for q in SHAPE_QUESTIONS}
    every, first = len(variants()), {q: defaults()[q] for q in axes}
    claims = {
        rf"= {every:,} once all announced variants exist": "every combination",
        rf"the answers that change Go code \({len(render_variants())}\)": "the render tier",
        rf"\({len(pairwise_variants())} today\)": "the pairwise tier",
        rf"needs {len(pairwise(axes, first))} combinations instead of\s+{every:,}": "the covering array",
    }
    for claim, what in claims.items():
        assert re.search(claim, text), f"README.md's count of {what} is not today's: {claim!r}"


def test_defaults_are_what_copier_records(tmp_path: Path) -> None:
    """tooling.variants renders copier.yml's defaults itself; they must be copier's."""
    recorded = answers_of(copy_head(tmp_path / "p", {}))
    expected = defaults()
    assert {k: recorded[k] for k in expected} == expected


def test_matrix_renders_defaults_with_copiers_filters_or_says_it_cannot() -> None:
    assert render("{{ 'x' | regex_replace('x', 'y') }}-{{ 'a b' | to_json }}", {}) == 'y-"a b"'
    # The documented changed-default pattern renders as on a first copy.
    assert render("{{ 100 if _external_data.existing_answers else 200 }}", {}) == "200"
    # Variables only copier provides are named, not rendered as empty.
    with pytest.raises(UnsupportedDefaultError, match="_copier_conf"):
        render("{{ _copier_conf.dst_path }}", {})


# Python in layers: tests and bench share code through tooling/, never through each other. Only
# tests/test_bench.py imports bench: it tests the harness's logic.
TEST_MODULES = {"conftest", "service", "tests"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_tests_and_bench_do_not_import_each_other() -> None:
    problems = []
    test_files = {p.name: p for p in (TEMPLATE_ROOT / "tests").glob("*.py")}
    test_modules = TEST_MODULES | {name.removesuffix(".py") for name in test_files}
    for name, path in test_files.items():
        if "bench" in imported_roots(path) and name != "test_bench.py":
            problems.append(f"tests/{name} imports bench")
    for folder in ("bench", "tooling"):
        for path in (TEMPLATE_ROOT / folder).glob("*.py"):
            rel = path.relative_to(TEMPLATE_ROOT)
            if found := imported_roots(path) & test_modules:
                problems.append(f"{rel} imports {sorted(found)}")
            # Loading a file of tests/ by path is importing it too.
            if "tests" in string_constants(path):
                problems.append(f"{rel} names the tests folder")
    for path in (TEMPLATE_ROOT / "tooling").glob("*.py"):
        if "bench" in imported_roots(path):
            problems.append(f"{path.relative_to(TEMPLATE_ROOT)} imports bench")
    assert not problems, "\n".join(problems)
