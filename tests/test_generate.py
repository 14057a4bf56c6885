"""What a rendered project generates from its API's description (api/openapi.yaml). The server
code (api/openapi.gen.go), which oapi-codegen generates in the chosen router's idiom: the template
keeps each router's output in the router's folder, and in every rendered project
`make generate-check` (run by `make lint`, and so by the generated CI) proves it is what the
rendered description generates, and fails, showing the difference, once the file is edited by
hand. And the reference `make docs` writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Route, sync_playwright

from conftest import Render
from tooling.servers import chromium
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
    assert "-\t// CreateNote Create a note, edited by hand\n" in drifted.stdout, drifted.stdout
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


def test_make_docs_writes_a_reference_needing_nothing_else(render: Render, tmp_path: Path) -> None:
    """`make docs` writes build/api.html from the description; opened from the file in Chromium, it
    shows every operation, and fetches nothing else: its Content-Security-Policy (api/redoc.hbs)
    blocks, before it is sent, the one request Redoc's page makes (Redocly's logo), which reaches
    the network without it."""
    project = Path(shutil.copytree(api_project(render, "stdlib"), tmp_path / "p"))
    proc = make(project, "docs")
    assert proc.returncode == 0, f"make docs:\n{proc.stdout}\n{proc.stderr}"
    page_file = project / "build" / "api.html"
    assert "Content-Security-Policy" in page_file.read_text()
    url = page_file.as_uri()
    exe = chromium()
    assert exe is not None, "Chromium is missing: `nox -s tests` installs Debian's chromium"
    sent: list[str] = []
    problems: list[str] = []

    def route(r: Route) -> None:
        if r.request.url.startswith((url, "data:", "blob:")):
            r.continue_()
        else:
            sent.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.route("**/*", route)  # sees what would reach the network: not what the CSP blocked
        page.goto(url, wait_until="networkidle")
        for path in ("/v1/notes", "/v1/notes/{id}", "/version", "/readyz"):
            page.get_by_text(path, exact=True).first.wait_for(timeout=15_000)
        page.wait_for_load_state("networkidle")  # what the rendered page fetches (the logo)
        browser.close()
    problems += [f"request sent outside the page: {u}" for u in sent]
    assert not problems, "\n".join(problems)
