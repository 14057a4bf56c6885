"""The documentation site: built with `mkdocs build --strict`, then every page opened in Debian's
Chromium over HTTP, as a reader meets it. A page fails on a console error, a request that failed or
left the site, a link or anchor that leads nowhere, a diagram that did not become SVG, or an image
that did not load. Each page's screenshot is kept in build/site-screenshots/."""

from __future__ import annotations

import functools
import html
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml
from playwright.sync_api import ConsoleMessage, Page, Request, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tooling import variants
from tooling.servers import chromium

# One worker builds the site and opens every page in one browser.
pytestmark = pytest.mark.xdist_group("site")

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "build" / "site-screenshots"
# Material draws each diagram in a closed shadow root; opened here so that the test can see the SVG.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (options) { return attach.call(this, {...options, mode: "open"}); };
"""


class _Loader(yaml.SafeLoader):
    """mkdocs.yml's loader: its `!!python/name:` tags are read as their names."""


_Loader.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda _loader, suffix, _node: suffix)


def nav_pages() -> list[str]:
    """The Markdown files mkdocs.yml's navigation lists, in its order."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader)

    def walk(entries: list[object]) -> Iterator[str]:
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            if isinstance(value, list):
                yield from walk(value)
            else:
                yield str(value)

    return list(walk(config["nav"]))


def page_path(markdown: str) -> str:
    """A page's URL path in the built site (MkDocs' directory URLs)."""
    stem = markdown.removesuffix(".md")
    return "" if stem == "index" else f"{stem}/"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built strictly: a broken link or anchor, or a page outside the navigation, fails."""
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        # MkDocs 1.6 and Material print a notice about their successors on every build.
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr}"
    return out


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *_args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser_page(base_url: str) -> Iterator[Page]:
    exe = chromium()
    assert exe is not None, "Chromium is missing: `nox -s tests` installs Debian's chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(exe),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script(OPEN_SHADOW_ROOTS)
        yield page
        browser.close()


def ids_of(site: Path, path: str) -> set[str]:
    """The element IDs of a built page, for its anchors."""
    return {html.unescape(m) for m in re.findall(r'\bid="([^"]+)"', (site / path / "index.html").read_text())}


def test_every_page_is_in_the_navigation(site: Path) -> None:
    built = {p.parent.relative_to(site).as_posix() for p in site.rglob("index.html")}
    built = {"" if b == "." else f"{b}/" for b in built}
    assert built == {page_path(p) for p in nav_pages()}


@pytest.mark.parametrize("markdown", nav_pages())
def test_page_in_a_browser(markdown: str, site: Path, base_url: str, browser_page: Page) -> None:
    page = browser_page
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_request(request: Request) -> None:
        if not request.url.startswith((base_url, "data:", "blob:")):
            problems.append(f"request outside the site: {request.url}")

    def on_failed(request: Request) -> None:
        problems.append(f"request failed: {request.url} ({request.failure})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", on_request)
    page.on("requestfailed", on_failed)
    path = page_path(markdown)
    try:
        response = page.goto(base_url + path, wait_until="networkidle")
        assert response is not None
        assert response.status == 200
        diagrams = len(re.findall(r'class="mermaid"', (site / path / "index.html").read_text()))
        rendered = """() => [...document.querySelectorAll("div.mermaid")]
                            .filter(e => e.shadowRoot && e.shadowRoot.querySelector("svg")).length"""
        try:
            page.wait_for_function(f"n => ({rendered})() === n", arg=diagrams, timeout=15_000)
        except PlaywrightTimeout:
            missing = diagrams - page.evaluate(rendered)
            problems.append(f"{missing} of {diagrams} diagrams did not render to SVG")
        failed = page.eval_on_selector_all(
            "img", "images => images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        hrefs: list[str] = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{markdown.removesuffix('.md')}.png"), full_page=True)
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("request", on_request)
        page.remove_listener("requestfailed", on_failed)
    problems += [f"image did not load: {src}" for src in failed]
    for href in hrefs:
        if not href.startswith(base_url):
            continue
        target, fragment = urldefrag(href)
        target_path = unquote(urlsplit(target).path).lstrip("/")
        file = site / target_path / "index.html" if target_path.endswith("/") or not target_path else None
        if file is None:
            if not (site / target_path).is_file():
                problems.append(f"broken link: {href}")
            continue
        if not file.is_file():
            problems.append(f"broken link: {href}")
        elif fragment and unquote(fragment) not in ids_of(site, target_path):
            problems.append(f"broken anchor: {href}")
    assert not problems, "\n".join(problems)


def test_the_reference_names_every_question_and_answer(site: Path) -> None:
    """The questions page is generated from copier.yml: each question a section, each offered
    answer in its table."""
    text = (site / "questions" / "index.html").read_text()
    for name, spec in variants.questions().items():
        assert name in ids_of(site, "questions/"), f"the reference has no section for {name}"
        for choice in variants.choices(name) if "choices" in spec else []:
            answer = f"<code>{html.escape(str(choice.value))}</code>"
            assert answer in text, f"{name}={choice.value} is missing"
