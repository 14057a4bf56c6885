"""The example API against its OpenAPI description (api/openapi.yaml): the service serves the
very one it was rendered with, and `make api-check` validates it as OpenAPI, then schemathesis
generates requests from it, positive and negative, one operation at a time and in sequences that
follow its links, against the running service, whose every answer must be one the description
documents."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service import Launcher, free_port

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("needs_example_api")]

# The fewest requests a run of `make api-check` must send to count.
MIN_REQUESTS = 1000


def test_the_service_serves_its_description(launch: Launcher, project: Path) -> None:
    svc = launch()
    resp = svc.get("/openapi.yaml")
    assert resp.status == 200, resp.describe()
    assert resp.media_type == "application/yaml", resp.describe()
    assert resp.body == (project / "api" / "openapi.yaml").read_bytes()


def tool(name: str) -> str:
    """A command of the Python that runs the tests (pyproject.toml pins it as the generated
    Makefile does)."""
    return str(Path(sys.executable).with_name(name))


def test_make_api_check_fuzzes_the_service_against_its_description(
    project: Path, tmp_path: Path, dependency_env: dict[str, str]
) -> None:
    """`make api-check`, as a user or the generated CI runs it: the description is validated, then
    schemathesis sends requests generated from it (every phase: examples, coverage, fuzzing, and
    stateful sequences following its links) to the running service, and every answer must be one
    the description documents, status, content type, body and headers; a method a path does not
    list must get 405 with Allow; no 5xx, no request left unanswered, and the service still ready
    afterwards."""
    copy = Path(shutil.copytree(project, tmp_path / project.name, symlinks=True))
    har = tmp_path / "requests.har"
    env = {
        **os.environ,
        **dependency_env,
        "HTTP_ADDR": f"127.0.0.1:{free_port()}",
        "ADMIN_ADDR": f"127.0.0.1:{free_port()}",
        "LOG_FORMAT": "json",
        "OPENAPI_SPEC_VALIDATOR": tool("openapi-spec-validator"),
        "SCHEMATHESIS": tool("st"),
        "API_CHECK_FLAGS": f"--report=har --report-har-path={har} --no-color",
    }
    proc = subprocess.run(
        ["make", "api-check"], cwd=copy, capture_output=True, text=True, timeout=900, env=env, check=False
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"make api-check failed:\n{output}"
    entries = json.loads(har.read_text())["log"]["entries"]
    assert len(entries) >= MIN_REQUESTS, f"only {len(entries)} requests were sent:\n{output}"
    unanswered = [e["request"]["url"] for e in entries if not e["response"].get("status")]
    assert not unanswered, f"{len(unanswered)} requests got no answer: {unanswered[:5]}"
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    errors = [r for r in records if str(r.get("level")).lower() == "error"]
    assert not errors, f"the generated requests made the service log ERROR records: {errors[:5]}"
