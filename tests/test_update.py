"""`copier update` never loses a user's work.

As copier's own suite does it, each test builds temporary git repositories of the template
tagged as versions, generates a project from an older version, commits it, makes the edits a
team typically makes, updates, and checks that the edits survived, that the template's
improvements arrived, that conflicts are marked, and that the project still builds and passes
its tests. Versions come from two places: every release of this repository (releases.toml,
tagged in a clone), and versions built here from the current template with known changes (the
"aged" template).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy, run_recopy, run_update
from copier.errors import MissingFileWarning

from conftest import answers_of, commit_all, git, go, mark_echo_unfinished, snapshot_into, year_clock
from tooling import quickstart
from tooling.releases import releases, tag_releases
from tooling.variants import SHAPE_QUESTIONS, TEMPLATE_ROOT, choices, defaults, questions

CONFLICT_START = "<<<<<<< before updating"
CONFLICT_END = ">>>>>>> after updating"

# The edits a team makes to a generated service, and the files they touch.
USER_TEST_LINE = "\tgo test -count=1 -shuffle=on ./..."
USER_ROUTE = '\tmux.Handle("GET /v1/hello", greet.HandleHello())\n'
USER_DEPENDENCY = "github.com/google/uuid v1.6.0"
# A changed default is changed where it is set, tested and documented: each file's edit as
# today's template writes the line, then as earlier releases wrote it.
USER_DEFAULT_EDITS = {
    "internal/config/config.go": (
        (
            '{Env: "RATE_LIMIT_RPS", Default: "100", Reloads: true}',
            '{Env: "RATE_LIMIT_RPS", Default: "250", Reloads: true}',
        ),
        ('r.float("RATE_LIMIT_RPS", 100, 0)', 'r.float("RATE_LIMIT_RPS", 250, 0)'),
    ),
    "internal/config/config_test.go": (("RateLimitRPS:       100,", "RateLimitRPS:       250,"),),
    ".env.example": (("RATE_LIMIT_RPS=100\n", "RATE_LIMIT_RPS=250\n"),),
}
# The line the user's route goes after: /version's, whatever it is handed (`info`, `d.info`).
VERSION_ROUTE = re.compile(r'^\tmux\.Handle\("GET /version", handleVersion\([\w.]+\)\)\n', re.M)
# Go files whose lines the user edits that the template has rewritten since the releases: the
# update keeps both sides between markers, and the user makes the edit again on the new lines
# (CHANGELOG: defaults set in `Settings`; routes handed the router's `deps`).
REWRITTEN_SINCE_RELEASES = {"internal/config/config.go", "internal/server/routes.go"}
# What `kustomize edit set image NAME=REGISTRY/NAME:TAG` changes, as the generated README says to run.
KUSTOMIZATION = "deploy/kubernetes/overlays/prod/kustomization.yaml"
OLD_KUSTOMIZATION = "deploy/kubernetes/kustomization.yaml"
USER_IMAGE = "    newName: registry.example.com/{name}\n    newTag: 1.4.2\n"
USER_ROUTES = "internal/server/routes.go"
USER_EDITED = {"Makefile", USER_ROUTES, "go.mod", "go.sum", KUSTOMIZATION}
USER_EDITED |= set(USER_DEFAULT_EDITS)
GREET_GO = """\
// Package greet says hello.
package greet

import (
	"net/http"

	"github.com/google/uuid"
)

// HandleHello answers with a greeting and a fresh greeting ID.
func HandleHello() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("hello " + uuid.NewString() + "\\n"))
	})
}
"""
GREET_TEST_GO = """\
package greet

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandleHello(t *testing.T) {
	rec := httptest.NewRecorder()
	HandleHello().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/hello", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "hello ") {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}
"""
USER_ADDED = {"internal/greet/greet.go": GREET_GO, "internal/greet/greet_test.go": GREET_TEST_GO}


@dataclass(frozen=True)
class Aging:
    """A known change between the aged version and the current template: `new` (today's text
    in `path`) was `old` in the aged version; `old=None` means the file did not exist yet."""

    path: str
    new: str
    old: str | None


AGING = (
    # The same line the user edits: the update must mark a conflict.
    Aging("template/Makefile.jinja", "\tgo test -race ./...\n", "\tgo test ./...\n"),
    # Lines of a file the user edits elsewhere: must merge cleanly.
    Aging(
        "template/internal/config/config.go.jinja",
        "// check validates cfg, its values decoded already, and derives what their",
        "// check validates cfg, with its values decoded already, and derives what their",
    ),
    # A file the template added.
    Aging("template/.dockerignore", "", None),
    # A change to a file users may delete.
    Aging("template/docker-compose.yml.jinja", "stop_grace_period: 30s", "stop_grace_period: 25s"),
    # A change to the kustomization, whose image lines users set: must merge cleanly.
    Aging(
        "template/deploy/kubernetes/overlays/prod/kustomization.yaml.jinja",
        " (set the image with `kustomize edit set image`).\n",
        "\n",
    ),
)

# Answer combinations the update tests run with: the defaults and two others.
UPDATE_CASES = {
    "defaults": {},
    "no-example,proprietary": {"example_api": False, "license": "proprietary"},
    "renamed,apache": {
        "project_name": "inventory-api",
        "module_path": "example.com/shop/inventory-api",
        "license": "Apache-2.0",
    },
}


def new_template_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    snapshot_into(path)
    return path


def age(repo: Path, changes: tuple[Aging, ...]) -> None:
    """Turn the template in `repo` into its aged version by undoing each known change."""
    for change in changes:
        file = repo / change.path
        if change.old is None:
            assert file.exists(), f"{change.path} is gone from the template: update AGING"
            file.unlink()
            continue
        text = file.read_text()
        assert text.count(change.new) == 1, f"{change.path} no longer has {change.new!r} once: update AGING"
        file.write_text(text.replace(change.new, change.old))


def tag(repo: Path, version: str) -> None:
    commit_all(repo, f"version {version}")
    git(repo, "tag", version)


@pytest.fixture(scope="module")
def aged_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repository with two versions: 1.0.0, the aged template, and 2.0.0, today's."""
    repo = new_template_repo(tmp_path_factory.mktemp("aged") / "template")
    age(repo, AGING)
    tag(repo, "1.0.0")
    snapshot_into(repo)
    tag(repo, "2.0.0")
    return repo


def release_tags() -> list[str]:
    """This repository's releases, oldest first, as releases.toml records them (a clone need not
    carry the tags); an empty list is an error."""
    return [release.version for release in releases()]


def copy(template: Path, dst: Path, ref: str, answers: dict[str, Any]) -> Path:
    run_copy(str(template), dst, data=answers, vcs_ref=ref, defaults=True, unsafe=True, quiet=True)
    git(dst, "init", "--quiet", "--initial-branch=main")
    commit_all(dst, f"generate from the template at {ref}")
    return dst


def update(project: Path, ref: str | None = None, conflict: str = "inline", **data: Any) -> None:
    run_update(
        project,
        data=data,
        vcs_ref=ref,
        defaults=True,
        overwrite=True,
        conflict=conflict,
        unsafe=True,
        quiet=True,
    )


def module_of(project: Path) -> str:
    return (project / "go.mod").read_text().splitlines()[0].removeprefix("module ")


def replace_once(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert text.count(old) == 1, f"{file} does not have {old!r} exactly once"
    file.write_text(text.replace(old, new))


def kustomization_of(project: Path) -> str:
    """Where the image is set: the prod overlay, or deploy/kubernetes/ itself in releases before
    the overlays."""
    return next(rel for rel in (KUSTOMIZATION, OLD_KUSTOMIZATION) if (project / rel).exists())


def add_user_route(project: Path) -> None:
    """The user's route, after /version's, and its package's import."""
    module = module_of(project)
    routes = project / USER_ROUTES
    text = routes.read_text()
    # The import in its sorted place among the service's own packages, as goimports puts it.
    # (An update may have merged it already, with only the route's lines in conflict.)
    own = list(re.finditer(rf'^\t"{re.escape(module)}/internal/(\w+)"\n', text, re.M))
    assert own, f"{routes} imports none of the service's packages:\n{text}"
    if not any(m[1] == "greet" for m in own):
        after = next((m.start() for m in own if m[1] > "greet"), own[-1].end())
        text = f'{text[:after]}\t"{module}/internal/greet"\n{text[after:]}'
    found = list(VERSION_ROUTE.finditer(text))
    assert len(found) == 1, f"{routes} does not have /version's route exactly once:\n{text}"
    routes.write_text(text[: found[0].end()] + USER_ROUTE + text[found[0].end() :])


def change_default(project: Path, rel: str) -> None:
    """The user's changed default in rel, on the line as this version of the template writes it."""
    text = (project / rel).read_text()
    old, new = next(((old, new) for old, new in USER_DEFAULT_EDITS[rel] if old in text), ("", ""))
    assert old, f"{rel} has none of {[old for old, _ in USER_DEFAULT_EDITS[rel]]}"
    replace_once(project / rel, old, new)


def make_user_edits(project: Path) -> None:
    """A new handler and route with a new dependency, a changed config default and an edited
    Makefile target, committed."""
    for rel, text in USER_ADDED.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    add_user_route(project)
    for rel in USER_DEFAULT_EDITS:
        change_default(project, rel)
    name = answers_of(project)["project_name"]
    replace_once(project / kustomization_of(project), "    newTag: dev\n", USER_IMAGE.format(name=name))
    makefile = project / "Makefile"
    lines = makefile.read_text().split("\n")
    recipe = lines.index(next(line for line in lines if line.startswith("test:"))) + 1
    lines[recipe] = USER_TEST_LINE
    makefile.write_text("\n".join(lines))
    go(project, "get", "github.com/google/uuid@v1.6.0")
    go(project, "mod", "tidy")
    commit_all(project, "add a hello endpoint, raise the rate limit, shuffle tests, set the image")


def assert_user_edits_survived(project: Path) -> None:
    for rel, text in USER_ADDED.items():
        assert (project / rel).read_text() == text, f"{rel} lost the user's content"
    routes = (project / "internal/server/routes.go").read_text()
    assert f'"{module_of(project)}/internal/greet"' in routes, routes
    assert USER_ROUTE in routes, routes
    for rel, edits in USER_DEFAULT_EDITS.items():
        text = (project / rel).read_text()
        assert any(new in text for _, new in edits), f"{rel} lost the changed default"
    assert USER_TEST_LINE in (project / "Makefile").read_text()
    image = USER_IMAGE.format(name=answers_of(project)["project_name"])
    assert image in (project / KUSTOMIZATION).read_text(), "the image set with kustomize was lost"
    assert USER_DEPENDENCY in (project / "go.mod").read_text()
    assert "github.com/google/uuid v1.6.0 h1:" in (project / "go.sum").read_text()


def project_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


def assert_matches_fresh_render(
    project: Path, template: Path, ref: str, tmp: Path, conflicted: set[str]
) -> None:
    """Every file the user did not touch is exactly what the new version renders, and nothing the
    new version no longer renders is left behind: the template's improvements all arrived."""
    answers = {k: v for k, v in answers_of(project).items() if not k.startswith("_")}
    fresh = tmp / "fresh"
    run_copy(str(template), fresh, data=answers, vcs_ref=ref, defaults=True, unsafe=True, quiet=True)
    untouched = project_files(fresh) - USER_EDITED - conflicted
    differing = sorted(f for f in untouched if (project / f).read_bytes() != (fresh / f).read_bytes())
    assert not differing, f"files that did not get the new version: {differing}"
    expected_extra = set(USER_ADDED) | {f"{c}.rej" for c in conflicted}
    leftovers = project_files(project) - project_files(fresh) - expected_extra
    assert not leftovers, f"files the new version no longer renders were left behind: {sorted(leftovers)}"


def conflicted_files(project: Path) -> set[str]:
    return set(git(project, "diff", "--name-only", "--diff-filter=U").split())


def files_with_markers(project: Path) -> set[str]:
    """Files with a line that opens a conflict (the generated README quotes the marker mid-line)."""
    found = set()
    for f in project_files(project):
        lines = (project / f).read_text(errors="replace").splitlines()
        if any(line.startswith(CONFLICT_START) for line in lines):
            found.add(f)
    return found


def redo_user_edits_on_the_new_lines(project: Path, files: set[str]) -> None:
    """Resolve a Go file as a user does whose edited lines the template rewrote: both sides are
    there, the user's before and the template's after; take the template's, and edit it again."""
    for rel in files:
        file = project / rel
        text = file.read_text()
        ours = re.findall(rf"^{CONFLICT_START}\n(.*?)^=======\n", text, flags=re.MULTILINE | re.DOTALL)
        assert any(new in side for side in ours for _, new in USER_DEFAULT_EDITS.get(rel, ())) or any(
            USER_ROUTE in side for side in ours
        ), f"{rel}: the user's edit is not among the sides kept:\n{text}"
        theirs = re.sub(
            rf"^{CONFLICT_START}\n.*?^=======\n(.*?)^{CONFLICT_END}\n",
            lambda m: m.group(1),
            text,
            flags=re.MULTILINE | re.DOTALL,
        )
        file.write_text(theirs)
        if rel == USER_ROUTES:
            add_user_route(project)
        else:
            change_default(project, rel)
        git(project, "add", rel)


def resolve_module_conflicts(project: Path, conflicted: set[str]) -> None:
    """Resolve go.mod and go.sum as docs/updating.md says: keep both sides, then `go mod tidy`."""
    for name in conflicted & {"go.mod", "go.sum"}:
        file = project / name
        both = re.sub(
            rf"^{CONFLICT_START}\n(.*?)^=======\n(.*?)^{CONFLICT_END}\n",
            lambda m: m.group(1) + m.group(2),
            file.read_text(),
            flags=re.MULTILINE | re.DOTALL,
        )
        assert CONFLICT_START not in both, both
        file.write_text(both)
    go(project, "mod", "tidy")
    git(project, "add", "go.mod", "go.sum")


def assert_builds_and_passes(project: Path) -> None:
    """go.mod is tidy, every package and test compiles and vets, and the tests of the packages
    holding the user's work pass. The other packages are byte for byte what a fresh render of
    the same answers gives (each test asserts it), whose tests the build tier runs
    (tests/test_build.py): running them again here made these tests the suite's slowest."""
    go(project, "mod", "tidy", "-diff")
    go(project, "vet", "./...")
    edited = [f for f in (*USER_ADDED, *USER_DEFAULT_EDITS, USER_ROUTES) if f.endswith(".go")]
    if (project / next(iter(USER_ADDED))).exists():
        go(project, "test", "-count=1", *sorted({f"./{Path(f).parent}" for f in edited}))


@pytest.mark.parametrize("answers", UPDATE_CASES.values(), ids=UPDATE_CASES.keys())
def test_update_keeps_user_work_and_brings_improvements(
    answers: dict[str, Any], aged_template: Path, tmp_path: Path
) -> None:
    project = copy(aged_template, tmp_path / "service", "1.0.0", answers)
    make_user_edits(project)

    update(project)

    assert answers_of(project)["_commit"] == "2.0.0"
    # Both sides of the line the user and the template changed are kept, between markers, and
    # git lists the file as conflicted.
    assert conflicted_files(project) == {"Makefile"}
    assert files_with_markers(project) == {"Makefile"}
    makefile = (project / "Makefile").read_text()
    ours, theirs = makefile.split(CONFLICT_START, 1)[1].split(CONFLICT_END, 1)[0].split("=======")
    assert USER_TEST_LINE in ours, makefile
    assert "\tgo test -race ./..." in theirs, makefile
    # The template's changes to config.go and the kustomization merged with the user's.
    config = (project / "internal/config/config.go").read_text()
    assert "// check validates cfg, its values decoded already, and derives what their" in config
    assert "kustomize edit set image" in (project / KUSTOMIZATION).read_text()
    assert_user_edits_survived(project)
    assert_matches_fresh_render(project, aged_template, "2.0.0", tmp_path, conflicted={"Makefile"})
    assert_builds_and_passes(project)


def test_conflicts_as_rej_files(aged_template: Path, tmp_path: Path) -> None:
    project = copy(aged_template, tmp_path / "service", "1.0.0", {})
    make_user_edits(project)

    update(project, conflict="rej")

    # The file takes the template's version; the user's change that did not apply waits in
    # Makefile.rej, so nothing is dropped.
    assert "\tgo test -race ./..." in (project / "Makefile").read_text()
    rejected = (project / "Makefile.rej").read_text()
    assert f"+{USER_TEST_LINE}" in rejected, rejected
    assert not files_with_markers(project)
    assert_matches_fresh_render(project, aged_template, "2.0.0", tmp_path, conflicted={"Makefile"})


def tagged_clone(template: Path, tags: bool = True) -> Path:
    """A clone of this repository with the current template committed on top and every release
    of releases.toml tagged, as a published template is (untagged, as main is cloned, if not
    `tags`)."""
    git(template.parent, "clone", "--quiet", "--no-local", str(TEMPLATE_ROOT), str(template))
    for rel in git(template, "ls-files", "-z").split("\0"):
        if rel:
            (template / rel).unlink()
    snapshot_into(template)
    commit_all(template, "the current template")
    if tags:
        tag_releases(template)
    return template


def test_copy_from_a_tagged_clone_records_the_release(tmp_path: Path) -> None:
    template = tagged_clone(tmp_path / "template")
    newest = release_tags()[-1]
    # Without --vcs-ref copier takes the newest release tag, as users of the published template get.
    run_copy(str(template), tmp_path / "service", defaults=True, unsafe=True, quiet=True)
    assert answers_of(tmp_path / "service")["_commit"] == newest


def test_every_release_has_a_changelog_entry() -> None:
    headings = re.findall(r"^## (\S+)", (TEMPLATE_ROOT / "CHANGELOG.md").read_text(), re.M)
    for version in release_tags():
        assert version in headings, f"release {version} has no CHANGELOG.md entry"


@pytest.mark.parametrize("answers", UPDATE_CASES.values(), ids=UPDATE_CASES.keys())
@pytest.mark.parametrize("release", release_tags())
def test_update_from_every_release(release: str, answers: dict[str, Any], tmp_path: Path) -> None:
    """From each release of this repository to the current template, with the user's edits."""
    template = tagged_clone(tmp_path / "template")
    project = copy(template, tmp_path / "service", release, answers)
    make_user_edits(project)

    update(project, ref="HEAD")

    conflicted = conflicted_files(project)
    assert files_with_markers(project) == conflicted, "conflict markers in files git does not list"
    go_conflicts = {f for f in conflicted if f.endswith(".go")}
    assert go_conflicts <= REWRITTEN_SINCE_RELEASES, f"the user's Go edits conflict: {go_conflicts}"
    redo_user_edits_on_the_new_lines(project, go_conflicts)
    # The template's dependency changes may meet the user's in go.mod and go.sum.
    resolve_module_conflicts(project, conflicted)
    assert_user_edits_survived(project)
    assert_matches_fresh_render(project, template, "HEAD", tmp_path, conflicted)
    assert_builds_and_passes(project)


def test_update_from_before_tracing_keeps_it_off(tmp_path: Path) -> None:
    """The newest release has no `tracing` question: an update records its default, `none`, which
    renders exactly what the newest release's answers render today, without a line of tracing."""
    template = tagged_clone(tmp_path / "template")
    newest = release_tags()[-1]
    project = copy(template, tmp_path / "service", newest, {})
    assert "tracing" not in answers_of(project), f"release {newest} asks about tracing: pick another"

    update(project, ref="HEAD")

    assert answers_of(project)["tracing"] == "none"
    assert not conflicted_files(project)
    assert "opentelemetry" not in (project / "go.mod").read_text()
    traced = [p for p in project.rglob("*.go") if "go.opentelemetry.io" in p.read_text()]
    assert not traced, f"tracing code in a project that did not ask for it: {traced}"
    assert_matches_fresh_render(project, template, "HEAD", tmp_path, set())


def test_pointing_src_path_at_the_moved_template(aged_template: Path, tmp_path: Path) -> None:
    """The one edit the answers file allows (README, "Update it"): `_src_path` changed, in a commit
    of its own, to where the template now lives; the next update fetches from there."""
    project = copy(aged_template, tmp_path / "service", "1.0.0", {})
    moved = tmp_path / "moved" / "copier-go-service"
    git(tmp_path, "clone", "--quiet", "--no-local", str(aged_template), str(moved))
    # A version only the moved template has.
    (moved / "template/SECURITY.md").write_text("Report vulnerabilities privately.\n")
    tag(moved, "2.1.0")
    answers_file = project / ".copier-answers.yml"
    assert "edit by hand, except `_src_path`" in answers_file.read_text()
    replace_once(answers_file, f"_src_path: {aged_template}\n", f"_src_path: {moved}\n")
    commit_all(project, "the template moved")

    update(project)

    answers = answers_of(project)
    assert answers["_src_path"] == str(moved)
    assert answers["_commit"] == "2.1.0"
    assert (project / "SECURITY.md").exists()
    assert not conflicted_files(project)


def test_user_deleted_optional_files_stay_deleted(aged_template: Path, tmp_path: Path) -> None:
    project = copy(aged_template, tmp_path / "service", "1.0.0", {})
    # A team that deploys without Compose and Kubernetes removes their files.
    (project / "docker-compose.yml").unlink()
    shutil.rmtree(project / "deploy")
    commit_all(project, "we deploy with our own charts")

    update(project)

    # The template changed docker-compose.yml in between; it still is not brought back.
    assert not (project / "docker-compose.yml").exists()
    assert not (project / "deploy").exists()
    assert (project / ".dockerignore").exists(), "the new file of 2.0.0 did not arrive"
    assert not conflicted_files(project)


def test_changing_an_answer_on_update(aged_template: Path, tmp_path: Path) -> None:
    project = copy(aged_template, tmp_path / "service", "2.0.0", {})
    assert (project / "internal/notes").is_dir()

    update(project, example_api=False, license="Apache-2.0")

    answers = answers_of(project)
    assert answers["example_api"] is False
    assert answers["license"] == "Apache-2.0"
    assert not (project / "internal/notes").exists()
    assert "notes" not in (project / "internal/server/routes.go").read_text()
    assert "Apache License" in (project / "LICENSE").read_text()
    assert not conflicted_files(project)
    assert_builds_and_passes(project)


@pytest.mark.parametrize(
    "choice",
    [c for q in SHAPE_QUESTIONS for c in choices(q) if c.available and c.value != defaults()[q]],
    ids=lambda c: f"{c.question}={c.value}",
)
def test_every_available_answer_can_be_switched_to_on_update(
    choice: Any, aged_template: Path, tmp_path: Path
) -> None:
    """`copier update --defaults --data QUESTION=VALUE` on a fresh project gives the project that
    `copier copy` with that answer gives, conflict-free, and it builds and passes its tests."""
    project = copy(aged_template, tmp_path / "service", "2.0.0", {})

    update(project, **{choice.question: choice.value})

    assert answers_of(project)[choice.question] == choice.value
    assert not conflicted_files(project)
    assert_matches_fresh_render(project, aged_template, "2.0.0", tmp_path, conflicted=set())
    assert_builds_and_passes(project)


def test_unavailable_answer_is_refused_on_update_and_changes_nothing(tmp_path: Path) -> None:
    """An update to a version where a variant is unfinished (copier.yml's validator on its choice)
    refuses that answer and leaves the project as it was. Every variant is built today, so version
    2.0.0 of a copy of the template has an unfinished one."""
    repo = two_versions(tmp_path / "template", mark_echo_unfinished)
    project = copy(repo, tmp_path / "service", "1.0.0", {})
    before = git(project, "rev-parse", "HEAD")

    answer = "http_framework=echo"
    proc = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--defaults", "--data", answer],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )

    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "not yet available" in proc.stderr, proc.stderr
    assert git(project, "status", "--porcelain") == "", "the refused update changed the project"
    assert git(project, "rev-parse", "HEAD") == before
    assert answers_of(project)["http_framework"] == defaults()["http_framework"]


def test_renamed_question_is_migrated(tmp_path: Path) -> None:
    """A version that renames a question carries a migration that rewrites the recorded answer,
    so the user's non-default answer survives the rename."""
    repo = new_template_repo(tmp_path / "template")
    for file in [repo / "copier.yml", *(p for p in (repo / "template").rglob("*") if p.is_file())]:
        text = file.read_text()
        if "example_api" in text:
            file.write_text(text.replace("example_api", "with_example"))
    for folder in list((repo / "template").rglob("*example_api*")):
        folder.rename(folder.with_name(folder.name.replace("example_api", "with_example")))
    tag(repo, "1.0.0")
    shutil.rmtree(repo / "template")
    snapshot_into(repo)
    add_migrations(repo, MIGRATION_EXAMPLE)
    tag(repo, "1.1.0")
    project = copy(repo, tmp_path / "service", "1.0.0", {"with_example": False})
    assert not (project / "internal/notes").exists()

    update(project)

    answers = answers_of(project)
    assert answers["_commit"] == "1.1.0"
    assert answers["example_api"] is False
    assert "with_example" not in answers
    assert not (project / "internal/notes").exists(), "the renamed answer fell back to its default"
    assert not conflicted_files(project)
    assert_builds_and_passes(project)


def add_migrations(repo: Path, block: str) -> None:
    """Add the `_migrations` entries of block to the template's copier.yml, after those it has
    (its last key, as its comment says)."""
    path = repo / "copier.yml"
    before = yaml.safe_load(path.read_text()).get("_migrations", [])
    text = path.read_text()
    if before:
        assert text.rstrip().splitlines()[-1].startswith("      - "), "copier.yml: _migrations is not last"
        block = block.replace("\n_migrations:\n", "\n", 1)
    path.write_text(text + block)
    after = yaml.safe_load(path.read_text())["_migrations"]
    assert after[: len(before)] == before
    assert len(after) > len(before)


# The form docs/template-design.md gives for a renamed question.
MIGRATION_EXAMPLE = """
_migrations:
  - version: "1.1.0"
    when: "{{ _stage == 'before' }}"
    command:
      - "{{ _copier_python }}"
      - "{{ _copier_conf.src_path }}/migrations/migrate.py"
      - "--answers-file={{ _copier_conf.answers_file }}"
      - rename-answer
      - with_example
      - example_api
"""


def test_answers_file_is_complete_and_has_no_secrets(tmp_path: Path) -> None:
    run_copy(str(TEMPLATE_ROOT), tmp_path / "p", vcs_ref="HEAD", defaults=True, quiet=True)
    answers = answers_of(tmp_path / "p")
    assert answers["_src_path"], answers
    assert answers["_commit"], answers
    for name, spec in questions().items():
        if spec.get("secret"):
            assert name not in answers, f"secret answer {name} written to the answers file"
        elif name != "copyright_holder" or answers["license"] != "proprietary":
            assert name in answers, f"{name} is missing from the answers file"


OPERATIONS_V1 = "# Operations\n\nStart it.\n\nWatch it.\n\nStop it.\n\n## Scaling\n\nAdd replicas.\n"
# Version 2.0.0 moves the page and rewrites its last line; users edit its first paragraph.
SCALING_V2 = "Add replicas; the Deployment sets no replica count."
OPERATIONS_V2 = OPERATIONS_V1.replace("Add replicas.", SCALING_V2)
OPERATIONS_EDITED = OPERATIONS_V1.replace("Start it.", "Start it with `make run`.")
ONCALL = "# On call\n\nPage the owner.\n"
KEEP_EDITED_MIGRATIONS = """
_migrations:
{entries}"""
KEEP_EDITED_ENTRY = """  - version: "2.0.0"
    command:
      - "{{{{ _copier_python }}}}"
      - "{{{{ _copier_conf.src_path }}}}/migrations/migrate.py"
      - "--answers-file={{{{ _copier_conf.answers_file }}}}"
      - keep-edited
      - {path}{moved}
      - "--template={{{{ _copier_conf.src_path }}}}"
      - "--from-version={{{{ _version_from }}}}"
"""


@pytest.mark.parametrize("edited", [True, False], ids=["edited", "untouched"])
def test_moved_and_deleted_files_keep_user_edits(edited: bool, tmp_path: Path) -> None:
    """Copier removes a file the new version no longer generates, edited or not; the version
    that moves or deletes a file carries a `keep-edited` migration so the user's edits are kept."""
    repo = new_template_repo(tmp_path / "template")
    # Beside the template's own docs/ (the service's runbook), which both versions keep.
    (repo / "template/docs").mkdir(exist_ok=True)
    (repo / "template/docs/operations.md").write_text(OPERATIONS_V1)
    (repo / "template/docs/oncall.md").write_text(ONCALL)
    tag(repo, "1.0.0")
    (repo / "template/docs/operations.md").unlink()
    (repo / "template/docs/oncall.md").unlink()
    (repo / "template/docs/runbooks").mkdir()
    (repo / "template/docs/runbooks/operations.md").write_text(OPERATIONS_V2)
    moved_to = "\n      - --moved-to=docs/runbooks/operations.md"
    entries = KEEP_EDITED_ENTRY.format(path="docs/operations.md", moved=moved_to)
    entries += KEEP_EDITED_ENTRY.format(path="docs/oncall.md", moved="")
    add_migrations(repo, KEEP_EDITED_MIGRATIONS.format(entries=entries))
    tag(repo, "2.0.0")
    project = copy(repo, tmp_path / "service", "1.0.0", {})
    if edited:
        (project / "docs/operations.md").write_text(OPERATIONS_EDITED)
        (project / "docs/oncall.md").write_text(ONCALL + "\nOr the team lead.\n")
        commit_all(project, "our operations notes")

    update(project)

    moved = (project / "docs/runbooks/operations.md").read_text()
    assert not (project / "docs/operations.md").exists()
    if edited:
        # The user's first-paragraph edit and the template's last-line change, merged.
        assert moved == OPERATIONS_EDITED.replace("Add replicas.", SCALING_V2)
        assert (project / "docs/oncall.md").read_text() == ONCALL + "\nOr the team lead.\n"
    else:
        assert moved == OPERATIONS_V2
        assert not (project / "docs/oncall.md").exists()
    assert not files_with_markers(project)


@pytest.mark.parametrize("tagged_later", [False, True], ids=["untagged clone", "tagged after the copy"])
def test_quick_start_project_can_be_updated(tagged_later: bool, tmp_path: Path) -> None:
    """The README's generate command records a template path that `copier update`, run in the
    project, can find again (a relative path would point into the project itself), and the update
    command the README gives such a project works whether or not the clone got its release tags
    after the copy (then the copied commit is newer than the newest release: no downgrade)."""
    # The Quick start's copy, run with the copier under test (test_quickstart installs its own).
    copy_command = quickstart.read().generate.rsplit("&& ", 1)[1]
    assert copy_command.startswith(".venv/bin/copier copy "), copy_command
    copy_command = copy_command.replace(".venv/bin/copier", f"{sys.executable} -m copier", 1)
    repo = tagged_clone(tmp_path / "template", tags=False)
    subprocess.run(copy_command, shell=True, cwd=repo, check=True, stdin=subprocess.DEVNULL)
    project = tmp_path / "my-service"
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "generated")
    if tagged_later:
        tag_releases(repo)
    (repo / "template/SECURITY.md").write_text("Report vulnerabilities privately.\n")
    commit_all(repo, "a security policy")
    update_command = "copier update --defaults --vcs-ref HEAD"
    assert f"`{update_command}`" in (TEMPLATE_ROOT / "README.md").read_text()

    proc = subprocess.run(
        [sys.executable, "-m", *update_command.split()],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert (project / "SECURITY.md").read_text() == "Report vulnerabilities privately.\n"


PIPX_SHIM = """#!/bin/sh
# Stands in for `pipx run --spec copier==VERSION copier ARGS...` with the copier under test.
[ "$1 $2 $4" = "run --spec copier" ] && [ "$3" = "copier==$COPIER_VERSION" ] || exit 97
shift 4
exec "$COPIER_PYTHON" -m copier "$@"
"""


@pytest.mark.parametrize(("generated_at", "available"), [("1.0.0", "true"), ("2.0.0", "false")])
def test_weekly_job_sees_a_newer_template_version(
    generated_at: str, available: str, aged_template: Path, tmp_path: Path
) -> None:
    """The generated workflow's check step, run as GitHub runs it, with the copier it pins."""
    project = copy(aged_template, tmp_path / "service", generated_at, {})
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    job = workflow["jobs"]["template-update"]
    step = next(s for s in job["steps"] if s.get("id") == "check")
    shim = tmp_path / "bin" / "pipx"
    shim.parent.mkdir()
    shim.write_text(PIPX_SHIM)
    shim.chmod(0o755)
    outputs = tmp_path / "github_output"
    outputs.touch()

    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=project,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(outputs),
            "COPIER_PYTHON": sys.executable,
            "COPIER_VERSION": importlib.metadata.version("copier"),
        },
        check=False,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert found == {"available": available, "current": generated_at, "latest": "2.0.0"}
    assert job["if"] == "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
    assert "schedule" in workflow[True], "the workflow has no schedule"  # YAML reads `on:` as True


def two_versions(repo: Path, change: Callable[[Path], None]) -> Path:
    """Tag the current template 1.0.0, apply `change`, tag 2.0.0."""
    new_template_repo(repo)
    tag(repo, "1.0.0")
    change(repo)
    tag(repo, "2.0.0")
    return repo


def add_security_policy(repo: Path) -> None:
    (repo / "template/SECURITY.md").write_text("Report vulnerabilities privately.\n")


def test_update_and_recopy_keep_the_copyright_year(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The LICENSE's year is the first copy's: a later update or recopy does not move it."""
    repo = two_versions(tmp_path / "template", add_security_policy)
    year_clock(monkeypatch, 2026)
    project = copy(repo, tmp_path / "service", "1.0.0", {"license": "Apache-2.0"})
    license_text = (project / "LICENSE").read_text()
    assert "Copyright 2026 The my-service authors" in license_text

    year_clock(monkeypatch, 2031)
    update(project)

    assert answers_of(project)["_commit"] == "2.0.0"
    assert answers_of(project)["copyright_year"] == 2026
    assert (project / "LICENSE").read_text() == license_text
    assert not conflicted_files(project)
    commit_all(project, "update to 2.0.0")

    run_recopy(project, defaults=True, overwrite=True, unsafe=True, quiet=True)

    assert answers_of(project)["copyright_year"] == 2026
    assert git(project, "status", "--porcelain") == "", "the recopy changed the project"


def design_doc_yaml(containing: str) -> str:
    doc = (TEMPLATE_ROOT / "docs/template-design.md").read_text()
    blocks = re.findall(r"^ *```yaml\n(.*?)^ *```", doc, flags=re.MULTILINE | re.DOTALL)
    found = [textwrap.dedent(b) for b in blocks if containing in b]
    assert len(found) == 1, f"docs/template-design.md has {len(found)} yaml blocks with {containing!r}"
    return found[0]


# A version that adds a question with a plain new default: what the pattern avoids.
PLAIN_NEW_DEFAULT = """
rate_limit_rps:
  type: int
  default: 200
"""


@pytest.mark.parametrize(("form", "updated_keeps"), [("documented", 100), ("plain", 200)])
def test_a_new_default_reaches_new_projects_only(form: str, updated_keeps: int, tmp_path: Path) -> None:
    """Version 2.0.0 turns the example rate limit of .env.example (100 in 1.0.0) into a question
    whose default is 200. With the form docs/template-design.md gives, an updated project keeps
    100 and a new one gets 200; with a plain default the update would change the project."""
    question = design_doc_yaml("_external_data") if form == "documented" else PLAIN_NEW_DEFAULT

    def make_rate_a_question(repo: Path) -> None:
        with (repo / "copier.yml").open("a") as f:
            f.write("\n" + question)
        env = repo / "template/.env.example.jinja"
        replace_once(env, "RATE_LIMIT_RPS=100\n", "RATE_LIMIT_RPS={{ rate_limit_rps }}\n")

    repo = two_versions(tmp_path / "template", make_rate_a_question)
    existing = copy(repo, tmp_path / "existing", "1.0.0", {})

    update(existing)

    assert answers_of(existing)["rate_limit_rps"] == updated_keeps
    assert f"RATE_LIMIT_RPS={updated_keeps}\n" in (existing / ".env.example").read_text()
    # A first copy finds no answers file to read, and copier says so (docs/template-design.md).
    first_copy_warns = pytest.warns(MissingFileWarning, match=".copier-answers.yml")
    with first_copy_warns if form == "documented" else contextlib.nullcontext():
        new = copy(repo, tmp_path / "new", "2.0.0", {})
    assert answers_of(new)["rate_limit_rps"] == 200
    assert "RATE_LIMIT_RPS=200\n" in (new / ".env.example").read_text()


def before_the_year_was_an_answer(repo: Path) -> None:
    """The template as it was before `copyright_year`: the LICENSE took the clock's year."""
    config = repo / "copier.yml"
    text = config.read_text()
    start = text.index("\n# Recorded, never asked: the year of the first copy")
    end = text.index("\ncopyright_year:", start)
    end = text.find("\n\n", end)
    config.write_text(text[:start] + ("\n" + text[end:].lstrip("\n") if end != -1 else "\n"))
    for name in ("MIT.txt", "Apache-2.0.txt"):
        replace_once(repo / "licenses" / name, "{{ copyright_year }}", '{{ "%Y" | strftime }}')


@pytest.mark.parametrize(("data", "recorded"), [({}, 2031), ({"copyright_year": 2026}, 2026)])
def test_update_from_before_the_year_was_an_answer(
    data: dict[str, Any], recorded: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A project generated when the LICENSE took the clock's year keeps its LICENSE; the update
    records the year it is given (CHANGELOG.md says to give the LICENSE's), or else its own."""
    repo = new_template_repo(tmp_path / "template")
    before_the_year_was_an_answer(repo)
    assert "copyright_year" not in (repo / "copier.yml").read_text()
    tag(repo, "1.0.0")
    snapshot_into(repo)
    tag(repo, "2.0.0")
    year_clock(monkeypatch, 2026)
    project = copy(repo, tmp_path / "service", "1.0.0", {})
    license_text = (project / "LICENSE").read_text()
    assert "Copyright (c) 2026 " in license_text

    year_clock(monkeypatch, 2031)
    update(project, **data)

    assert answers_of(project)["copyright_year"] == recorded
    assert (project / "LICENSE").read_text() == license_text
    assert not conflicted_files(project)


def test_question_defaults_do_not_see_the_operation(tmp_path: Path) -> None:
    """Why docs/template-design.md tells a copy from an update by the answers file: the copier
    this template pins gives `_copier_operation` to `_exclude`, tasks and migrations only, so a
    default reading it takes the update branch on a first copy too. When this fails, copier gives
    defaults the operation and the documented form can use it."""
    repo = tmp_path / "template"
    (repo / "template").mkdir(parents=True)
    (repo / "copier.yml").write_text(
        "_subdirectory: template\n"
        "operation:\n"
        "  type: str\n"
        "  default: \"{{ _copier_operation | default('none') }}\"\n"
    )
    (repo / "template/operation.txt.jinja").write_text("{{ operation }}\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    tag(repo, "1.0.0")

    run_copy(str(repo), tmp_path / "project", defaults=True, quiet=True)

    assert (tmp_path / "project/operation.txt").read_text() == "none\n"


PIP_SHIM = """#!/bin/sh
# Stands in for `pip install ... copier==VERSION`: the copier under test is on PATH already.
[ "$*" = "install --quiet --root-user-action=ignore copier==$COPIER_VERSION" ] || exit 97
"""


@pytest.mark.parametrize(("generated_at", "available"), [("1.0.0", True), ("2.0.0", False)])
def test_gitlab_scheduled_job_fails_on_a_newer_template_version(
    generated_at: str, available: bool, aged_template: Path, tmp_path: Path
) -> None:
    """The generated GitLab job's script, run as the runner runs it, with the copier it pins."""
    project = copy(aged_template, tmp_path / "service", generated_at, {"ci": "gitlab"})
    job = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["template-update"]
    shim = tmp_path / "bin" / "pip"
    shim.parent.mkdir()
    shim.write_text(PIP_SHIM)
    shim.chmod(0o755)

    proc = subprocess.run(
        ["sh", "-e", "-c", "\n".join(job["script"])],
        cwd=project,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": os.pathsep.join([str(shim.parent), str(Path(sys.executable).parent), os.environ["PATH"]]),
            "COPIER_VERSION": importlib.metadata.version("copier"),
        },
        check=False,
    )

    if available:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Template version 2.0.0 is out; this service is at 1.0.0." in proc.stderr
        assert "copier update --defaults" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Up to date with template version 2.0.0." in proc.stdout
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
