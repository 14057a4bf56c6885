"""The generated dev container (.devcontainer/): the Go of the Dockerfile's build stage, the pinned
tools, and with PostgreSQL or Redis those of docker-compose.yml. devcontainer.json is checked
offline against the Dev Container specification's schema (vendored in tests/schemas/), which is
shown to reject a broken file; the Compose file it adds is loaded over docker-compose.yml with
compose-go, as Compose merges them."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Render, answers_of
from tooling.dockerfile import dockerfile_instructions
from tooling.variants import choices

BIN = Path(sys.executable).parent
SCHEMA = Path(__file__).parent / "schemas" / "devContainer.base.schema.json"
SCHEMA_SHA256 = "a0883c0405ff433db188849d458fb20b9c0d73e0ba1a6e44c1d83f3b485408dd"
TOOLS = Path(__file__).parent / "tools"
# The Compose service each data answer brings, and the URL setting that names it.
SERVERS = {("database", "postgres"): ("postgres", "DATABASE_URL"), ("cache", "redis"): ("redis", "REDIS_URL")}
DATA_ANSWERS = [
    {c.question: c.value for c in combo}
    for combo in itertools.product(*(choices(q) for q in ("database", "cache")))
    if all(c.available for c in combo)
]


def answers_id(answers: dict[str, Any]) -> str:
    return "-".join(f"{k}={v}" for k, v in answers.items())


def devcontainer(project: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((project / ".devcontainer" / "devcontainer.json").read_text())
    return doc


def check_schema(file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--schemafile", str(SCHEMA), str(file)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_vendored_schema_is_the_pinned_one() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert SCHEMA_SHA256 in (SCHEMA.parent / "README.md").read_text()


@pytest.mark.parametrize("answers", DATA_ANSWERS, ids=answers_id)
@pytest.mark.parametrize("example_api", [True, False])
def test_devcontainer_matches_the_schema(render: Render, answers: dict[str, Any], example_api: bool) -> None:
    proc = check_schema(
        render({**answers, "example_api": example_api}) / ".devcontainer" / "devcontainer.json"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


BROKEN = {
    "a string where a list belongs": ("runServices", "postgres"),
    "an action the specification does not know": ("shutdownAction", "stopEverything"),
    "a port that is no port": ("forwardPorts", ["eighty"]),
}


@pytest.mark.parametrize("change", list(BROKEN), ids=list(BROKEN))
def test_schema_check_rejects_a_broken_devcontainer(render: Render, tmp_path: Path, change: str) -> None:
    doc = devcontainer(render({"database": "postgres"}))
    key, value = BROKEN[change]
    doc[key] = value
    broken = tmp_path / "devcontainer.json"
    broken.write_text(json.dumps(doc))
    proc = check_schema(broken)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Schema validation errors" in proc.stdout + proc.stderr


def build_stage_image(project: Path) -> str:
    froms = [args for kind, args in dockerfile_instructions(project / "Dockerfile") if kind == "FROM"]
    return next(word for word in froms[0].split() if not word.startswith("--"))


@pytest.fixture(scope="session")
def composecheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("tools") / "composecheck"
    subprocess.run(["go", "build", "-o", str(exe), "."], cwd=TOOLS / "composecheck", check=True, timeout=600)
    return exe


@pytest.mark.parametrize("answers", DATA_ANSWERS, ids=answers_id)
def test_devcontainer_has_the_go_and_servers_of_the_project(
    render: Render, composecheck: Path, answers: dict[str, Any]
) -> None:
    project = render(answers)
    doc = devcontainer(project)
    go_version = answers_of(project)["go_version"]
    assert build_stage_image(project) == f"golang:{go_version}-bookworm"
    wanted = [SERVERS[item] for item in answers.items() if item in SERVERS]
    override = project / ".devcontainer" / "docker-compose.yml"
    if not wanted:
        # No server to run: the build stage's image alone, no Compose file.
        assert doc["image"] == build_stage_image(project)
        assert "dockerComposeFile" not in doc
        assert not override.exists()
        return
    assert "image" not in doc
    assert doc["dockerComposeFile"] == ["../docker-compose.yml", "docker-compose.yml"]
    # Only the dev container and the servers: not the service's image, nor its migrate job.
    assert doc["runServices"] == [doc["service"], *(name for name, _ in wanted)]
    # Both files, merged as Compose merges them, paths resolved from the first one's folder.
    proc = subprocess.run(
        [str(composecheck), "docker-compose.yml", ".devcontainer/docker-compose.yml"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    services = yaml.safe_load(proc.stdout)["services"]
    assert set(doc["runServices"]) <= set(services)
    dev = services[doc["service"]]
    assert dev["image"] == build_stage_image(project)
    (mount,) = dev["volumes"]
    assert (Path(mount["source"]), mount["target"]) == (project, doc["workspaceFolder"])
    assert set(dev["environment"]) == {var for _, var in wanted}
    for name, var in wanted:
        assert dev["depends_on"][name]["condition"] == "service_healthy"
        # The URL names the server by its Compose name, on the port it listens on inside.
        port = services[name]["ports"][0]["target"]
        assert re.search(rf"[@/]{name}:{port}/", dev["environment"][var]), dev["environment"][var]


def test_a_broken_override_fails_to_load(render: Render, composecheck: Path, tmp_path: Path) -> None:
    project = render({"database": "postgres"})
    # The generated override, depending on a server docker-compose.yml does not have.
    text = (project / ".devcontainer" / "docker-compose.yml").read_text()
    assert "      postgres:\n        condition:" in text
    broken = tmp_path / "override.yml"
    broken.write_text(
        text.replace("      postgres:\n        condition:", "      postgress:\n        condition:")
    )
    proc = subprocess.run(
        [str(composecheck), "docker-compose.yml", str(broken)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "postgress" in proc.stderr


@pytest.mark.parametrize("example_api", [True, False])
def test_devcontainer_installs_the_pinned_tools(render: Render, example_api: bool) -> None:
    project = render({"example_api": example_api})
    command = devcontainer(project)["postCreateCommand"]
    assert command.endswith("make tools")
    # make api-check runs its tools with pipx.
    assert ("install -y -qq --no-install-recommends pipx" in command) == example_api
    # make tools installs golangci-lint, kustomize and promtool, and builds the tools make runs with
    # go run.
    dry = subprocess.run(
        ["make", "-n", "tools"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    makefile = (project / "Makefile").read_text()
    for tool in re.findall(r"^[A-Z_]+ := (go run \S+@v\S+)$", makefile, re.M):
        assert tool in dry, f"make tools does not build {tool}"
    for version in ("GOLANGCI_LINT_VERSION", "KUSTOMIZE_VERSION", "PROMTOOL_VERSION"):
        pin = re.search(rf"^{version} := (\S+)$", makefile, re.M)
        assert pin
        assert f"@{pin[1]}" in dry, f"make tools does not install {version}"
