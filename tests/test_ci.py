"""The CI each generated project carries (question `ci`): GitHub Actions with Dependabot, GitLab
CI/CD with Renovate, or none. Every rendered CI file passes its checker offline (actionlint with
shellcheck for workflows, check-jsonschema's vendored schemas, shellcheck for GitLab's scripts),
each checker is shown to reject a broken file, and the jobs check, build and publish what the
generated README says they do."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import test_render
from conftest import Render, answers_of
from tooling.dockerfile import dockerfile_instructions
from tooling.variants import choices

BIN = Path(sys.executable).parent
CI_CHOICES = ("github", "gitlab", "none")
# Every file or folder any `ci` answer may generate, and what each answer generates.
CI_PATHS = (".github", ".gitlab-ci.yml", "renovate.json")
CI_FILES = {
    "github": {".github/workflows/ci.yml", ".github/dependabot.yml"},
    "gitlab": {".gitlab-ci.yml", "renovate.json"},
    "none": set(),
}
SCHEMAS = (
    ("github", ".github/workflows/ci.yml", "vendor.github-workflows"),
    ("github", ".github/dependabot.yml", "vendor.dependabot"),
    ("gitlab", ".gitlab-ci.yml", "vendor.gitlab-ci"),
    ("gitlab", "renovate.json", "vendor.renovate"),
)
PLATFORMS = "linux/amd64,linux/arm64"
# The jobs of the generated .gitlab-ci.yml, as its README describes them.
GITLAB_JOBS = (
    "test",
    "lint",
    "vulncheck",
    "hadolint",
    "build-image",
    "publish",
    "sign",
    "release-binaries",
    "release",
    "template-update",
)


def ci_files(project: Path) -> set[str]:
    found = set()
    for name in CI_PATHS:
        path = project / name
        if path.is_dir():
            found |= {str(p.relative_to(project)) for p in path.rglob("*") if p.is_file()}
        elif path.exists():
            found.add(name)
    return found


def load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())


@pytest.mark.parametrize("ci", CI_CHOICES)
def test_ci_files_follow_the_answer(render: Render, ci: str) -> None:
    project = render({"ci": ci})
    assert answers_of(project)["ci"] == ci
    assert ci_files(project) == CI_FILES[ci]


@pytest.mark.parametrize("ci", CI_CHOICES)
def test_every_ci_answer_renders_hand_written_output(render: Render, ci: str) -> None:
    project = render({"ci": ci})
    test_render.test_no_jinja_files_or_syntax_left(project)
    test_render.test_whitespace_reads_hand_written(project)


def check_jsonschema(schema: str, file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(file)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(("ci", "name", "schema"), SCHEMAS)
def test_ci_file_matches_its_schema(render: Render, ci: str, name: str, schema: str) -> None:
    proc = check_jsonschema(schema, render({"ci": ci}) / name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


def break_workflow(doc: dict[str, Any]) -> None:
    doc["jobs"]["lint"]["runs-on"] = {"machine": "big"}


def break_dependabot(doc: dict[str, Any]) -> None:
    doc["updates"][0]["schedule"]["interval"] = "fortnightly"


def break_gitlab_ci(doc: dict[str, Any]) -> None:
    doc["lint"]["when"] = "sometimes"


def break_renovate(doc: dict[str, Any]) -> None:
    doc["postUpdateOptions"] = ["gomodTidyy"]


BREAKERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "vendor.github-workflows": break_workflow,
    "vendor.dependabot": break_dependabot,
    "vendor.gitlab-ci": break_gitlab_ci,
    "vendor.renovate": break_renovate,
}


@pytest.mark.parametrize(("ci", "name", "schema"), SCHEMAS)
def test_schema_check_rejects_a_broken_file(
    render: Render, tmp_path: Path, ci: str, name: str, schema: str
) -> None:
    # The rendered file with one invalid value: the check fails on it, so it can fail.
    doc = load(render({"ci": ci}) / name)
    BREAKERS[schema](doc)
    broken = tmp_path / Path(name).name
    broken.write_text(json.dumps(doc) if broken.suffix == ".json" else yaml.safe_dump(doc))
    proc = check_jsonschema(schema, broken)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Schema validation errors" in proc.stdout + proc.stderr


def actionlint(cwd: Path) -> subprocess.CompletedProcess[str]:
    files = sorted(str(p.relative_to(cwd)) for p in (cwd / ".github" / "workflows").glob("*.yml"))
    assert files, "no workflow files"
    return subprocess.run(
        ["actionlint", "-verbose", *files], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_workflow_passes_actionlint(render: Render) -> None:
    proc = actionlint(render({"ci": "github"}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ci.yml" in proc.stderr, "actionlint found no workflow"
    assert 'Rule "shellcheck" was disabled' not in proc.stderr, (
        "install shellcheck so run: scripts are checked"
    )


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: [\n"
    )
    assert actionlint(tmp_path).returncode != 0


def workflow(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())


def runs(job: dict[str, Any]) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]
    return step


def test_workflow_checks_what_the_readme_says(render: Render) -> None:
    jobs = workflow(render({"ci": "github"}))["jobs"]
    assert "go mod tidy -diff" in runs(jobs["test"])
    assert re.search(r"^make (--silent )?cover\b", runs(jobs["test"]), re.M), "race tests with coverage"
    assert "make build" in runs(jobs["test"])
    assert "make lint" in runs(jobs["lint"])
    # The Makefile pins golangci-lint; its build is cached until the pin changes.
    cache = step_using(jobs["lint"], "actions/cache")
    assert cache["with"]["path"] == ".tools"
    assert "hashFiles('Makefile')" in cache["with"]["key"]
    (govulncheck,) = [line for line in runs(jobs["vulncheck"]).splitlines() if "govulncheck" in line]
    assert re.fullmatch(r"go run golang\.org/x/vuln/cmd/govulncheck@v\d+\.\d+\.\d+ \./\.\.\.", govulncheck)
    assert step_using(jobs["image"], "hadolint/hadolint-action")["with"]["dockerfile"] == "Dockerfile"
    build = step_using(jobs["image"], "docker/build-push-action")["with"]
    assert build["push"] is False
    assert build["platforms"] == PLATFORMS, "every platform builds before one is published"


def test_workflow_publishes_multi_arch_images_on_version_tags(render: Render) -> None:
    doc = workflow(render({"ci": "github"}))
    assert doc[True]["push"]["tags"] == ["v*"]  # YAML reads `on:` as True
    publish = doc["jobs"]["publish"]
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert set(publish["needs"]) == {"test", "lint", "vulncheck", "image"}
    step_using(publish, "docker/setup-buildx-action")
    login = step_using(publish, "docker/login-action")["with"]
    assert login["registry"] == "ghcr.io"
    assert login["password"] == "${{ secrets.GITHUB_TOKEN }}"
    meta = step_using(publish, "docker/metadata-action")
    assert meta["with"]["images"] == "ghcr.io/${{ github.repository }}"
    assert "type=semver,pattern={{version}}" in meta["with"]["tags"]
    build = step_using(publish, "docker/build-push-action")["with"]
    assert build["push"] is True
    assert build["platforms"] == PLATFORMS
    assert build["tags"] == f"${{{{ steps.{meta['id']}.outputs.tags }}}}"
    assert build["cache-from"] == "type=gha"
    assert build["cache-to"] == "type=gha,mode=max"
    for arg in ("VERSION=", "COMMIT=", "DATE="):
        assert arg in build["build-args"], f"the image is not stamped with {arg}"
    assert build["sbom"] is True
    assert build["provenance"] == "mode=max"


def test_workflow_signs_the_published_image_by_digest(render: Render) -> None:
    publish = workflow(render({"ci": "github"}))["jobs"]["publish"]
    names = [s.get("uses", "").split("@")[0] or s.get("name") for s in publish["steps"]]
    installer = names.index("sigstore/cosign-installer")
    build = next(s for s in publish["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))
    (sign,) = [s for s in publish["steps"] if "cosign sign" in s.get("run", "")]
    assert installer < publish["steps"].index(sign), "cosign is installed before it signs"
    assert publish["steps"].index(build) < publish["steps"].index(sign), "the image is pushed first"
    # Keyless (no key, no password), by the digest the build pushed, not by a tag that can move.
    assert sign["env"]["DIGEST"] == f"${{{{ steps.{build['id']}.outputs.digest }}}}"
    assert sign["run"] == 'cosign sign --yes "ghcr.io/${GITHUB_REPOSITORY,,}@${DIGEST}"'
    assert publish["permissions"]["id-token"] == "write"


def test_workflow_releases_the_binaries_on_version_tags(render: Render) -> None:
    project = render({"ci": "github"})
    release = workflow(project)["jobs"]["release"]
    assert release["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert set(release["needs"]) == {"test", "lint", "vulncheck", "image"}
    assert step_using(release, "actions/setup-go")["with"]["go-version-file"] == "go.mod"
    assert 'make release VERSION="$GITHUB_REF_NAME"' in runs(release).splitlines()
    assert re.search(r"^release:", (project / "Makefile").read_text(), re.M)
    upload = step_using(release, "softprops/action-gh-release")["with"]
    assert upload["files"] == "dist/*"
    assert upload["fail_on_unmatched_files"] is True


def test_workflow_permissions_are_least_privilege(render: Render) -> None:
    doc = workflow(render({"ci": "github"}))
    assert doc["permissions"] == {}, "no job inherits a permission it does not ask for"
    writes = {
        name: {scope for scope, level in job["permissions"].items() if level == "write"}
        for name, job in doc["jobs"].items()
    }
    assert {name: scopes for name, scopes in writes.items() if scopes} == {
        # id-token: the OIDC token cosign signs the image with.
        "publish": {"packages", "id-token"},
        "release": {"contents"},
        "template-update": {"issues"},
    }
    for name, job in doc["jobs"].items():
        assert job["permissions"].get("contents") == ("write" if name == "release" else "read"), name
        assert set(job["permissions"].values()) <= {"read", "write"}, name


def test_workflow_pins_actions_by_version(render: Render) -> None:
    for job in workflow(render({"ci": "github"}))["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+\.\d+)?", step["uses"]), step["uses"]


def test_dependabot_keeps_modules_images_and_actions_current(render: Render) -> None:
    updates = yaml.safe_load((render({"ci": "github"}) / ".github" / "dependabot.yml").read_text())["updates"]
    assert {u["package-ecosystem"] for u in updates} == {"gomod", "docker", "github-actions"}
    for update in updates:
        assert update["directory"] == "/"
        assert update["schedule"]["interval"] == "weekly"
        assert update["groups"], f"{update['package-ecosystem']}: one pull request per group, not per update"


def test_base_images_are_literal_for_update_bots(render: Render) -> None:
    # Dependabot and Renovate read FROM lines; neither follows an ARG into an image tag.
    project = render({})
    go_version = answers_of(project)["go_version"]
    froms = [args for kind, args in dockerfile_instructions(project / "Dockerfile") if kind == "FROM"]
    assert f"golang:{go_version}-bookworm" in froms[0]
    for args in froms:
        image = next(word for word in args.split() if not word.startswith("--"))
        assert "$" not in image, image


def gitlab_ci(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".gitlab-ci.yml").read_text())


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """GitLab's `extends`: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both else value
    return out


def gitlab_jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The jobs of a GitLab CI file, with what they extend merged in."""
    jobs = {}
    for name, job in doc.items():
        if name.startswith(".") or not isinstance(job, dict):
            continue
        extends = job.get("extends", [])
        full: dict[str, Any] = {}
        for base in [extends] if isinstance(extends, str) else extends:
            full = merged(full, doc[base])
        full = merged(full, job)
        if "script" in full:
            jobs[name] = full
    return jobs


def script(job: dict[str, Any]) -> str:
    return "\n".join(job.get("before_script", []) + job["script"])


def test_gitlab_jobs_check_what_the_readme_says(render: Render) -> None:
    project = render({"ci": "gitlab"})
    jobs = gitlab_jobs(gitlab_ci(project))
    assert set(jobs) == set(GITLAB_JOBS)
    assert "go mod tidy -diff" in script(jobs["test"])
    assert "make cover" in script(jobs["test"])
    assert "make build" in script(jobs["test"])
    assert "make lint" in script(jobs["lint"])
    assert jobs["lint"]["cache"]["paths"] == [".tools/"]
    assert jobs["lint"]["cache"]["key"]["files"] == ["Makefile"]
    govulncheck = r"go run golang\.org/x/vuln/cmd/govulncheck@v\d+\.\d+\.\d+ \./\.\.\."
    assert re.search(govulncheck, script(jobs["vulncheck"]))
    assert "hadolint Dockerfile" in script(jobs["hadolint"])
    assert f"--platform {PLATFORMS}" in script(jobs["build-image"])
    assert "--push" not in script(jobs["build-image"])
    go_version = answers_of(project)["go_version"]
    assert gitlab_ci(project)["default"]["image"] == f"golang:{go_version}-bookworm"


# What the generated CI starts for each dependency answer, so that the integration tests run there:
# the service's name, the image docker-compose.yml runs, and the URL variable the tests read.
CI_SERVICES = {
    ("database", "postgres"): ("postgres", "DATABASE_URL"),
    ("cache", "redis"): ("redis", "REDIS_URL"),
}


def compose_image(project: Path, service: str) -> str:
    return str(yaml.safe_load((project / "docker-compose.yml").read_text())["services"][service]["image"])


@pytest.mark.parametrize(
    "answers",
    [
        {c.question: c.value for c in combo}
        for combo in itertools.product(*(choices(q) for q in ("database", "cache")))
        if all(c.available for c in combo)
    ],
    ids=lambda a: "-".join(str(v) for v in a.values()),
)
def test_ci_starts_the_servers_the_integration_tests_need(render: Render, answers: dict[str, Any]) -> None:
    wanted = {CI_SERVICES[item] for item in answers.items() if item in CI_SERVICES}
    github = render({**answers, "ci": "github"})
    job = workflow(github)["jobs"]["test"]
    assert set(job.get("services", {})) == {name for name, _ in wanted}
    assert set(job.get("env", {})) == {var for _, var in wanted}
    for name, var in wanted:
        assert job["services"][name]["image"] == compose_image(github, name)
        assert "--health-cmd" in job["services"][name]["options"], "steps start once the server answers"
        assert f"localhost:{job['services'][name]['ports'][0].split(':')[0]}" in job["env"][var]

    gitlab = render({**answers, "ci": "gitlab"})
    job = gitlab_jobs(gitlab_ci(gitlab))["test"]
    services = {s["alias"]: s["name"] for s in job.get("services", [])}
    assert set(services) == {name for name, _ in wanted}
    assert {var for var in job["variables"] if var.endswith("_URL")} == {var for _, var in wanted}
    for name, var in wanted:
        assert services[name] == compose_image(gitlab, name)
        assert f"@{name}:" in job["variables"][var] or f"//{name}:" in job["variables"][var]


def test_gitlab_publishes_on_version_tags_only(render: Render) -> None:
    jobs = gitlab_jobs(gitlab_ci(render({"ci": "gitlab"})))
    publish = jobs["publish"]
    assert publish["rules"] == [{"if": "$CI_COMMIT_TAG =~ /^v/"}]
    assert f"--platform {PLATFORMS}" in script(publish)
    assert "--push" in script(publish)
    assert "$CI_REGISTRY_IMAGE" in script(publish)
    assert "docker login" in script(publish)
    assert "--sbom=true --provenance=mode=max" in script(publish)
    for name in ("sign", "release-binaries", "release"):
        assert jobs[name]["rules"] == publish["rules"], name
    # Scheduled pipelines are for the template check alone.
    assert jobs["template-update"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    for name, job in jobs.items():
        if name not in ("template-update", *GITLAB_TAG_JOBS):
            assert job["rules"][0] == {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"}, name


GITLAB_TAG_JOBS = ("publish", "sign", "release-binaries", "release")


def test_gitlab_signs_the_published_image_keyless(render: Render) -> None:
    jobs = gitlab_jobs(gitlab_ci(render({"ci": "gitlab"})))
    # The one job given an OIDC token, for Sigstore alone.
    assert {name for name, job in jobs.items() if "id_tokens" in job} == {"sign"}
    sign = jobs["sign"]
    assert sign["id_tokens"] == {"SIGSTORE_ID_TOKEN": {"aud": "sigstore"}}
    assert sign["needs"] == ["publish"]
    assert jobs["publish"]["artifacts"]["reports"]["dotenv"] == "image.env"
    assert re.search(
        r"go install github\.com/sigstore/cosign/v3/cmd/cosign@v\d+\.\d+\.\d+$", script(sign), re.M
    )
    assert re.search(r'cosign sign --yes "\$CI_REGISTRY_IMAGE@\$IMAGE_DIGEST"$', script(sign), re.M)
    assert "--key" not in script(sign)


def publish_digest(project: Path, metadata: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The publish job's last command, which reads the pushed digest from buildx's metadata file."""
    (tmp_path / "metadata.json").write_text(metadata)
    command = gitlab_jobs(gitlab_ci(project))["publish"]["script"][-1]
    return subprocess.run(["sh", "-ec", command], cwd=tmp_path, capture_output=True, text=True, check=False)


def test_gitlab_publish_hands_the_pushed_digest_to_the_sign_job(render: Render, tmp_path: Path) -> None:
    project = render({"ci": "gitlab"})
    # As buildx writes it: indented, with other digests around it.
    metadata = {
        "buildx.build.ref": "builder/builder0/x",
        "containerimage.descriptor": {"digest": "sha256:" + "b" * 64, "size": 1609},
        "containerimage.digest": "sha256:" + "a" * 64,
        "image.name": "registry.example/app:1.2.3,registry.example/app:latest",
    }
    proc = publish_digest(project, json.dumps(metadata, indent=2), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "image.env").read_text() == f"IMAGE_DIGEST=sha256:{'a' * 64}\n"
    (tmp_path / "image.env").unlink()
    proc = publish_digest(project, json.dumps(metadata), tmp_path)
    assert (tmp_path / "image.env").read_text() == f"IMAGE_DIGEST=sha256:{'a' * 64}\n"
    # No digest (a build that pushed nothing): the job fails rather than hand on an empty one.
    (tmp_path / "image.env").unlink()
    del metadata["containerimage.digest"]
    assert publish_digest(project, json.dumps(metadata, indent=2), tmp_path).returncode != 0
    assert not (tmp_path / "image.env").exists()


def test_gitlab_release_links_every_file_make_release_writes(render: Render) -> None:
    project = render({"ci": "gitlab"})
    jobs = gitlab_jobs(gitlab_ci(project))
    binaries = jobs["release-binaries"]
    assert 'make release VERSION="$CI_COMMIT_TAG"' in script(binaries)
    platforms = re.search(r"^RELEASE_PLATFORMS := (.+)$", (project / "Makefile").read_text(), re.M)
    assert platforms
    name = answers_of(project)["project_name"]
    files = {f"{name}-{p.replace('/', '-')}" for p in platforms[1].split()} | {"SHA256SUMS"}
    assert len(files) == 5
    release = jobs["release"]
    assert release["needs"] == ["release-binaries"]
    assert release["image"].startswith("registry.gitlab.com/gitlab-org/cli:v")
    assert release["release"]["tag_name"] == "$CI_COMMIT_TAG"
    links = release["release"]["assets"]["links"]
    assert {link["name"] for link in links} == files
    upload = re.search(r'--upload-file "\$file" \\\n\s+"(\S+)/\$\{file#dist/\}"', script(binaries))
    assert upload, script(binaries)
    for link in links:
        assert link["url"] == f"{upload[1]}/{link['name']}", link


def shellcheck(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    file = tmp_path / "script.sh"
    # POSIX sh: the docker image's shell, and a subset of the golang image's bash.
    file.write_text("#!/bin/sh\nset -e\n" + text + "\n")
    return subprocess.run(
        [str(BIN / "shellcheck"), "--severity=style", str(file)], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("job", GITLAB_JOBS)
def test_gitlab_scripts_pass_shellcheck(render: Render, tmp_path: Path, job: str) -> None:
    proc = shellcheck(script(gitlab_jobs(gitlab_ci(render({"ci": "gitlab"})))[job]), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck_catches_a_broken_script(tmp_path: Path) -> None:
    assert shellcheck('if [ $CI_COMMIT_TAG = v1 ]; then echo "tag"', tmp_path).returncode != 0


def js_regex(pattern: str) -> re.Pattern[str]:
    """A Renovate (JavaScript) regex as Python's re reads it: named groups spelled (?P<name>)."""
    return re.compile(pattern.replace("(?<", "(?P<"), re.M)


def test_renovate_finds_every_pinned_tool(render: Render) -> None:
    project = render({"ci": "gitlab"})
    config = json.loads((project / "renovate.json").read_text())
    files = [str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()]
    found: dict[str, str] = {}
    for manager in config["customManagers"]:
        for pattern in manager["managerFilePatterns"]:
            assert pattern.startswith("/"), pattern
            assert pattern.endswith("/"), pattern
            matched = [f for f in files if re.search(pattern[1:-1], f)]
            assert matched, f"{pattern} matches no file"
            for name in matched:
                for regex in manager["matchStrings"]:
                    for match in js_regex(regex).finditer((project / name).read_text()):
                        dep = match.groupdict().get("depName") or manager["depNameTemplate"]
                        found[dep] = match["currentValue"]
    lint_pin = re.search(r"^GOLANGCI_LINT_VERSION := (\S+)$", (project / "Makefile").read_text(), re.M)
    vuln_pin = re.search(r"govulncheck@(\S+)", (project / ".gitlab-ci.yml").read_text())
    cosign_pin = re.search(r"sigstore/cosign/v3/cmd/cosign@(\S+)", (project / ".gitlab-ci.yml").read_text())
    assert lint_pin
    assert vuln_pin
    assert cosign_pin
    assert found == {
        "github.com/golangci/golangci-lint/v2": lint_pin[1],
        "golang.org/x/vuln": vuln_pin[1],
        "github.com/sigstore/cosign/v3": cosign_pin[1],
    }
    assert "gomodTidy" in config["postUpdateOptions"]


README_MENTIONS = {
    "github": (".github/workflows/ci.yml", "Dependabot", "ghcr.io"),
    "gitlab": (".gitlab-ci.yml", "Renovate", "container registry", "pipeline schedule"),
    "none": ("No CI configuration", "copier check-update"),
}


@pytest.mark.parametrize("ci", CI_CHOICES)
def test_readme_describes_the_ci(render: Render, ci: str) -> None:
    readme = (render({"ci": ci}) / "README.md").read_text()
    for name, words in README_MENTIONS.items():
        for word in words:
            assert (word in readme) == (name == ci), f"ci={ci}, README mentions {word!r}: {word in readme}"
    assert ("linux/arm64" in readme) == (ci != "none")


@pytest.fixture(scope="session")
def coverage_step(render: Render, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The workflow's test step run as GitHub runs it: its output and the job summary it wrote."""
    project = render({"ci": "github"})
    steps = workflow(project)["jobs"]["test"]["steps"]
    (step,) = [s for s in steps if re.search(r"^make (--silent )?cover\b", s.get("run", ""), re.M)]
    summary = tmp_path_factory.mktemp("summary") / "step_summary.md"
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, summary.read_text()


def total_coverage(output: str) -> str:
    totals = re.findall(r"^total:\s+\(statements\)\s+(\d+\.\d)%$", output, re.M)
    assert len(totals) == 1, output
    return totals[0]


@pytest.mark.slow
def test_github_job_summary_shows_coverage(coverage_step: tuple[str, str]) -> None:
    output, summary = coverage_step
    assert summary.startswith("### Coverage\n"), summary
    assert total_coverage(summary) == total_coverage(output)
    assert float(total_coverage(output)) > 50
    assert re.search(r"internal/config\s.*coverage: \d+\.\d% of statements", summary), summary


@pytest.mark.slow
def test_gitlab_coverage_regex_reads_the_total(render: Render, coverage_step: tuple[str, str]) -> None:
    regex = gitlab_ci(render({"ci": "gitlab"}))["test"]["coverage"]
    assert regex.startswith("/")
    assert regex.endswith("/")
    matches = [m[0] for m in re.finditer(regex[1:-1], coverage_step[0], re.M)]
    assert matches, "GitLab would read no coverage"
    # GitLab takes the last matching line and the first number in the match.
    first_number = re.search(r"\d+(\.\d+)?", matches[-1])
    assert first_number
    assert first_number[0] == total_coverage(coverage_step[0])


# Whom each CI's keyless signature names: the certificate's identity for tag v1.2.3 of acme/my-service,
# and its issuer.
SIGNERS = {
    "github": (
        "https://github.com/acme/my-service/.github/workflows/ci.yml@refs/tags/v1.2.3",
        "https://token.actions.githubusercontent.com",
        {"<owner>": "acme", "<repository>": "my-service"},
    ),
    "gitlab": (
        "https://gitlab.com/acme/my-service//.gitlab-ci.yml@refs/tags/v1.2.3",
        "https://gitlab.com",
        {"<group>": "acme", "<project>": "my-service"},
    ),
}


@pytest.mark.parametrize("ci", list(SIGNERS))
def test_readme_verifies_the_signature_ci_makes(render: Render, ci: str) -> None:
    readme = (render({"ci": ci}) / "README.md").read_text()
    identity, issuer, placeholders = SIGNERS[ci]
    found = re.search(
        r"--certificate-identity-regexp '([^']+)' \\\n\s+--certificate-oidc-issuer (\S+)", readme
    )
    assert found, "the README shows no cosign verify of a keyless signature"
    pattern = found[1]
    for placeholder, value in placeholders.items():
        pattern = pattern.replace(placeholder, value)
    assert re.search(pattern, identity), (pattern, identity)
    # Only a tag's build: not a branch's, nor another workflow's.
    assert not re.search(pattern, identity.replace("refs/tags/v1.2.3", "refs/heads/main"))
    assert not re.search(pattern, identity.replace("ci.yml", "other.yml"))
    assert found[2] == issuer
    assert "--format '{{ json .SBOM }}'" in readme
    assert "--format '{{ json .Provenance }}'" in readme
