"""The example API against its OpenAPI description (api/openapi.yaml): the description is valid
OpenAPI, the service serves the very one it was rendered with, and schemathesis generates requests
from it, positive and negative, one operation at a time and in sequences that follow its links,
against the running service, whose every answer must be one the description documents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from service import Launcher

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("needs_example_api")]

# What every answer is checked for: never a 5xx; a status, a content type, a body and the headers
# the description documents for the operation.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Test cases per operation and phase; a stateful scenario sends several requests.
MAX_EXAMPLES = 150
# The fewest requests a run must have sent to count.
MIN_REQUESTS = 1000
# A request that takes longer has hung.
REQUEST_TIMEOUT = 5


def description(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((project / "api" / "openapi.yaml").read_text())
    return loaded


def test_the_description_is_valid_openapi(project: Path) -> None:
    validate(description(project))


def test_the_service_serves_its_description(launch: Launcher, project: Path) -> None:
    svc = launch()
    resp = svc.get("/openapi.yaml")
    assert resp.status == 200, resp.describe()
    assert resp.media_type == "application/yaml", resp.describe()
    assert resp.body == (project / "api" / "openapi.yaml").read_bytes()


def schemathesis() -> str:
    """The schemathesis command of the Python that runs the tests."""
    return str(Path(sys.executable).with_name("st"))


def test_every_answer_is_one_the_description_documents(launch: Launcher, tmp_path: Path) -> None:
    # Without rate limiting, so that the generated requests reach the handlers rather than a 429.
    svc = launch(RATE_LIMIT_RPS="0")
    har = tmp_path / "requests.har"
    proc = subprocess.run(
        [
            schemathesis(),
            "run",
            f"http://127.0.0.1:{svc.http_port}/openapi.yaml",
            f"--checks={','.join(CHECKS)}",
            f"--phases={','.join(PHASES)}",
            f"--max-examples={MAX_EXAMPLES}",
            f"--request-timeout={REQUEST_TIMEOUT}",
            "--generation-database=none",
            "--report=har",
            f"--report-har-path={har}",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"schemathesis found answers the description does not allow:\n{proc.stdout}"
    entries = json.loads(har.read_text())["log"]["entries"]
    assert len(entries) >= MIN_REQUESTS, f"only {len(entries)} requests were sent:\n{proc.stdout}"
    hung = [e["request"]["url"] for e in entries if not e["response"].get("status")]
    assert not hung, f"{len(hung)} requests got no answer within {REQUEST_TIMEOUT}s: {hung[:5]}"
    # Still serving, and ready.
    ready = svc.get("/readyz")
    assert ready.status == 200, ready.describe()
    errors = [r for r in svc.records() if str(r.get("level")).lower() == "error"]
    assert not errors, f"generated requests made the service log ERROR records: {errors[:5]}"
