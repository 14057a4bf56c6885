"""The landing page's two pictures, taken from the real thing: `copier copy`'s prompts on a
pseudo-terminal of 80 columns (drawn by a terminal emulator and written as SVG), and a generated
service's `/readyz` in Chromium. `nox -s screenshots` retakes them into docs/assets/.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pexpect
import pyte

from tooling.ports import free_port
from tooling.servers import chromium
from tooling.variants import TEMPLATE_ROOT

ASSETS = TEMPLATE_ROOT / "docs" / "assets"
COLUMNS, ROWS = 80, 24
CLEAR_LINE = "\x15"
DOWN = "\x1b[B"


class _Feed:
    """A pexpect log that draws what the child writes on a terminal emulator's screen, and answers
    its requests for the cursor's position as a terminal does."""

    def __init__(self, screen: pyte.Screen, child: pexpect.spawn) -> None:
        self.screen, self.child = screen, child
        self.stream = pyte.Stream(screen)

    def write(self, data: str) -> None:
        for i, part in enumerate(data.split("\x1b[6n")):
            if i:
                self.child.send(f"\x1b[{self.screen.cursor.y + 1};{self.screen.cursor.x + 1}R")
            self.stream.feed(part)

    def flush(self) -> None:
        pass


def prompt_screen(copier: str) -> list[str]:
    """The terminal's lines while copier asks for the router, chi highlighted."""
    screen = pyte.Screen(COLUMNS, ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        child = pexpect.spawn(
            copier,
            ["copy", "--vcs-ref", "HEAD", str(TEMPLATE_ROOT), str(Path(tmp) / "orders-api")],
            encoding="utf-8",
            timeout=60,
            dimensions=(ROWS, COLUMNS),
            env={**os.environ, "TERM": "xterm-256color"},
        )
        child.logfile_read = _Feed(screen, child)
        answers = [
            ("Service name", CLEAR_LINE + "orders-api"),
            ("Go module path", ""),
            ("One sentence", CLEAR_LINE + "Takes orders."),
            ("Go version", ""),
        ]
        for prompt, keys in answers:
            child.expect_exact(prompt)
            child.send(keys + "\r")
        child.expect_exact("HTTP router")
        child.send(DOWN)
        with contextlib.suppress(pexpect.TIMEOUT):  # let the terminal draw the list
            child.expect_exact("no match", timeout=2)
        child.terminate(force=True)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def terminal_svg(lines: list[str]) -> str:
    """Lines of a terminal as an SVG picture: monospace text on a dark background."""
    width, line_height, pad = COLUMNS * 8.4 + 32, 19, 16
    height = len(lines) * line_height + 2 * pad + 8
    text = "\n".join(
        f'<text x="{pad}" y="{pad + 14 + i * line_height}" xml:space="preserve">{html.escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
        f'viewBox="0 0 {width:.0f} {height}" role="img" aria-label="copier copy asking for the router">\n'
        f'<rect width="100%" height="100%" rx="6" fill="#1e1e1e"/>\n'
        f'<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" fill="#e0e0e0">\n'
        f"{text}\n</g>\n</svg>\n"
    )


def readyz_png(copier: str, out: Path) -> None:
    """A service generated with Redis as its cache, built and started with its Redis unreachable:
    its /readyz in Chromium, degraded but ready (an optional check failing)."""
    from playwright.sync_api import sync_playwright

    exe = chromium()
    if exe is None:
        raise SystemExit("Chromium is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "my-service"
        subprocess.run(
            [
                copier,
                "copy",
                "--defaults",
                "--quiet",
                "--data",
                "cache=redis",
                "--vcs-ref",
                "HEAD",
                str(TEMPLATE_ROOT),
                str(project),
            ],
            check=True,
        )
        binary = Path(tmp) / "service"
        subprocess.run(["go", "build", "-o", str(binary), "./cmd/my-service"], cwd=project, check=True)
        port, admin = free_port(), free_port()
        env = {
            **os.environ,
            "HTTP_ADDR": f"127.0.0.1:{port}",
            "ADMIN_ADDR": f"127.0.0.1:{admin}",
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        }
        service = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/readyz"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if json.load(response)["status"] == "degraded":
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} never answered degraded")
                time.sleep(0.1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(exe), args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 720, "height": 90})
                page.goto(url)
                page.screenshot(path=str(out))
                browser.close()
        finally:
            service.terminate()
            service.wait(timeout=30)


def main() -> None:
    copier = str(Path(sys.executable).parent / "copier")
    ASSETS.mkdir(parents=True, exist_ok=True)
    (ASSETS / "prompts.svg").write_text(terminal_svg(prompt_screen(copier)))
    readyz_png(copier, ASSETS / "readyz.png")


if __name__ == "__main__":
    main()
