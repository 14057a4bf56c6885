"""The example API's server code (api/openapi.gen.go), which oapi-codegen generates from
api/openapi.yaml in the chosen router's idiom: the template keeps each router's output in the
router's folder, and in every rendered project `make generate-check` (run by `make lint`, and so
by the generated CI) proves it is what the rendered description generates, and fails, showing the
difference, once the file is edited by hand."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Render
from tooling.variants import choices

pytestmark = pytest.mark.slow

ROUTERS = [c.value for c in choices("http_framework") if c.available]


def make(project: Path, target: str) -> subprocess.CompletedProcess[str]:
    args = ["make", target]
    return subprocess.run(args, cwd=project, capture_output=True, text=True, timeout=600, check=False)


def api_project(render: Render, router: str) -> Path:
    return render({"http_framework": router, "example_api": True})


@pytest.mark.parametrize("router", ROUTERS)
def test_generated_code_is_what_the_description_generates(
    render: Render, router: str, tmp_path: Path
) -> None:
    project = Path(shutil.copytree(api_project(render, router), tmp_path / "p"))
    checked = make(project, "generate-check")
    assert checked.returncode == 0, f"the shipped code differs:\n{checked.stdout}\n{checked.stderr}"

    generated = project / "api" / "openapi.gen.go"
    text = generated.read_text()
    edited = text.replace("// CreateNote Create a note", "// CreateNote Create a note, edited by hand", 1)
    assert edited != text, "the generated code lost the comment this test edits: update the test"
    generated.write_text(edited)
    drifted = make(project, "generate-check")
    assert drifted.returncode != 0, "a hand edit of the generated code went unnoticed"
    assert "+// CreateNote Create a note\n" in drifted.stdout, drifted.stdout
    assert "run make generate" in drifted.stderr, drifted.stderr

    regenerated = make(project, "generate")
    assert regenerated.returncode == 0, regenerated.stderr
    assert generated.read_text() == text, "make generate did not write what the template ships"


def test_the_generated_interface_is_the_same_for_every_router(render: Render) -> None:
    """The notes' handlers implement one interface whatever the router: the generated strict
    interface is the same text for every router, and the handlers' file is byte-identical."""
    interfaces = {}
    for router in ROUTERS:
        text = (api_project(render, router) / "api" / "openapi.gen.go").read_text()
        start = text.index("// StrictServerInterface represents all server handlers.")
        interfaces[router] = text[start : text.index("}\n", start) + 2]
    assert len(set(interfaces.values())) == 1, interfaces
    handlers = {
        (api_project(render, router) / "internal" / "notes" / "handlers.go").read_text() for router in ROUTERS
    }
    assert len(handlers) == 1, "the notes' handlers differ by router"
