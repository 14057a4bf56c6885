"""The recipe for a new router (docs/template-design.md, "Adding a router"), followed on a copy of
the template: the stdlib router copied under a new name, its meta.yaml, its choice in copier.yml.
The copy must render, build, vet and pass its own tests, and its service must pass the routing
part of the contract suite, which runs unchanged, from the copy, on a combination with the new
router. When a step of the recipe no longer suffices (a shared template that names the routers,
a signature that differs by router), this fails."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from copier import run_copy

from conftest import commit_all, echo_choice, git, go, snapshot_into
from tooling.variants import TEMPLATE_ROOT, choices

# The new router: a name copier.yml does not offer, and what its meta.yaml says of it.
NEW = "mux2"
META = {"name": "Mux2", "router_name": "Mux2Router", "modules": [], "oapi_codegen": "std-http-server"}

# The contract tests of routing (and of what every router must get right around it): probes, 404 and
# 405 problems with Allow, route labels in the access log and the metrics, HEAD, the example API's
# routes with a path parameter, paths not in canonical form.
ROUTING_TESTS = " or ".join(
    [
        "test_probes_answer_200_with_json",
        "test_version_reports_the_build",
        "test_unknown_path_is_a_404_problem",
        "test_known_path_with_another_method_is_a_405_problem",
        "test_access_log_route_is_the_pattern",
        "test_request_counter_counts_requests",
        "test_route_label_cardinality_is_bounded",
        "test_413_and_429_carry_the_route",
        "test_note_is_created_and_read_back",
        "test_missing_note_is_a_404_problem",
        "test_path_not_in_canonical_form_is_a_404_problem",
        "test_head_is",
    ]
)


def follow_recipe(template: Path, meta: dict[str, object] | None = None) -> None:
    """The recipe's steps, on a template copy; `meta` replaces the new router's meta.yaml."""
    routers = template / "variants" / "router"
    # 1. Copy a router's folder (the stdlib router's code needs no change to keep the interface).
    shutil.copytree(routers / "stdlib", routers / NEW)
    # 2. Its meta.yaml.
    (routers / NEW / "meta.yaml").write_text(yaml.safe_dump(META if meta is None else meta))
    # 3. The choice in copier.yml, and in the README's table of questions.
    copier_yml = template / "copier.yml"
    text = copier_yml.read_text()
    last = echo_choice(text)  # the last router's line: the new one goes after it
    new_choice = f'    "{NEW}: a copy of the stdlib router, to prove the recipe": {NEW}\n'
    copier_yml.write_text(text[: last.end()] + new_choice + text[last.end() :])
    assert NEW in yaml.safe_load(copier_yml.read_text())["http_framework"]["choices"].values()
    readme = template / "README.md"
    row = "| `http_framework` |"
    assert readme.read_text().count(row) == 1, "README.md's http_framework row moved: update this test"
    readme.write_text(
        "\n".join(
            f"{line[:-1]}`{NEW}` |" if line.startswith(row) else line
            for line in readme.read_text().split("\n")
        )
    )
    # 4. gomod/modules.toml and `nox -s gomod`: a router without modules adds nothing.
    commit_all(template, f"Add the {NEW} router")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the template, a git repository, with the recipe followed and committed."""
    root = tmp_path_factory.mktemp("router-recipe") / "template"
    snapshot_into(root)
    git(root, "init", "--quiet")
    commit_all(root, "The template")
    follow_recipe(root)
    return root


def render(template: Path, dst: Path, answers: dict[str, object]) -> Path:
    run_copy(str(template), dst, data=answers, vcs_ref="HEAD", defaults=True, quiet=True)
    return dst


@pytest.mark.slow
def test_new_router_renders_builds_and_passes_its_tests(template: Path, tmp_path: Path) -> None:
    for example_api in (True, False):
        project = render(
            template, tmp_path / f"api-{example_api}", {"http_framework": NEW, "example_api": example_api}
        )
        readme = (project / "README.md").read_text()
        assert f"{META['name']} routing" in readme, "the README does not name the router from its meta.yaml"
        assert f"the {META['router_name']} router's setup" in readme
        go(project, "build", "./...")
        go(project, "vet", "./...")
        go(project, "test", "./...")


def first_combination_with_the_router(template: Path) -> str:
    """The first combination of the copy's pairwise set with the new router and the example API
    (whose routes take a path parameter), written as --combination takes it."""
    code = (
        "import json; from tooling.variants import pairwise_variants; print(json.dumps(pairwise_variants()))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=template, capture_output=True, text=True, check=True
    )
    rows = [r for r in json.loads(proc.stdout) if r["http_framework"] == NEW]
    assert rows, f"the pairwise set of the copy has no combination with {NEW}"
    row = next((r for r in rows if r["example_api"]), rows[0])
    return ",".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in row.items())


@pytest.mark.slow
def test_new_router_passes_the_routing_contract(template: Path) -> None:
    combination = first_combination_with_the_router(template)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_contract.py",
            "-p",
            "no:cacheprovider",
            "-q",
            "--combination",
            combination,
            "-k",
            ROUTING_TESTS,
        ],
        cwd=template,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    report = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, f"the contract suite failed with {combination}:\n{report}"
    summary = proc.stdout.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0].split()[-1]) if " passed" in summary else 0
    # Every routing test ran: none was deselected by a renamed test or skipped by the combination.
    assert passed >= 15, f"too few contract tests ran with {combination}: {summary}"


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"router_name": "Mux2Router", "modules": []}, "meta.yaml has no name"),
        ({"name": "Mux2", "router_name": "", "modules": []}, "meta.yaml has no router_name"),
        ({"name": "Mux2", "router_name": "Mux2Router"}, "meta.yaml has no modules"),
    ],
    ids=["no-name", "empty-router-name", "no-modules"],
)
def test_missing_metadata_fails_the_render_naming_it(
    meta: dict[str, object], message: str, tmp_path: Path
) -> None:
    """A meta.yaml that lacks a key, or leaves it empty, fails the render: never empty text."""
    template = tmp_path / "template"
    snapshot_into(template)
    git(template, "init", "--quiet")
    commit_all(template, "The template")
    follow_recipe(template, meta)
    with pytest.raises(Exception, match=message):
        render(template, tmp_path / "project", {"http_framework": NEW})


def test_each_routers_modules_are_the_ones_gomod_pins() -> None:
    """A router's meta.yaml names the modules its files import; gomod/modules.toml pins them under
    the router's answer. Both must name the same ones."""
    pins = tomllib.loads((TEMPLATE_ROOT / "gomod" / "modules.toml").read_text())
    for choice in choices("http_framework"):
        meta = yaml.safe_load(
            (TEMPLATE_ROOT / "variants" / "router" / choice.value / "meta.yaml").read_text()
        )
        pinned = pins.get(f"http_framework={choice.value}", {})
        assert sorted(meta["modules"]) == sorted(pinned), (
            f"variants/router/{choice.value}/meta.yaml names {meta['modules']}, "
            f"gomod/modules.toml pins {sorted(pinned)}"
        )
