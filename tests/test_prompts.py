"""`copier copy` answered by a person at a real pseudo-terminal: bad answers are refused at the
prompt with their reason, unfinished variants are greyed out and cannot be picked, and the answers
given end up in the project."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect
import yaml

from tooling.variants import TEMPLATE_ROOT

COPIER = str(Path(sys.executable).parent / "copier")
CLEAR_LINE = "\x15"  # Ctrl-U: the prompt starts filled with the default
DOWN = "\x1b[B"


def test_interactive_copy(tmp_path: Path) -> None:
    dst = tmp_path / "svc"
    child = pexpect.spawn(
        COPIER,
        ["copy", "--vcs-ref", "HEAD", str(TEMPLATE_ROOT), str(dst)],
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 250),
    )
    transcript = tmp_path / "transcript.log"
    with transcript.open("w") as log:
        child.logfile_read = log

        def answer(prompt: str, keys: str = "") -> None:
            child.expect_exact(prompt)
            child.send(keys + "\r")

        answer("Name of the service", CLEAR_LINE + "Orders API")
        child.expect_exact("must be kebab-case")
        child.send(CLEAR_LINE + "orders-api\r")
        answer("Go module path", CLEAR_LINE + "github.com/acme/orders api")
        child.expect_exact("must be a Go module path")
        child.send(CLEAR_LINE + "example.com/shop/orders\r")
        answer("One sentence", CLEAR_LINE + "Takes orders.")
        answer("Go version", CLEAR_LINE + "1.21")
        child.expect_exact("must be 1.26 or newer")
        child.send(CLEAR_LINE + "1.26\r")
        # The unfinished routers are listed with their reason and skipped by the cursor.
        child.expect_exact("chi (not yet available")
        child.send(DOWN + DOWN + "\r")
        for prompt in (
            "Structured logger",
            "Where configuration",
            "Base of the runtime",
            "Database",
            "Cache",
        ):
            answer(prompt)
        child.expect_exact("background worker")
        child.expect_exact("yes (not yet available")
        child.send(DOWN + "\r")
        answer("example resource")
        answer("License", DOWN)
        answer("Copyright holder", CLEAR_LINE + "Shop Ltd")
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 0, transcript.read_text()

    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "orders-api"
    assert answers["module_path"] == "example.com/shop/orders"
    assert answers["description"] == "Takes orders."
    assert answers["http_framework"] == "stdlib"
    assert answers["background_worker"] is False
    assert answers["license"] == "Apache-2.0"
    assert (dst / "cmd" / "orders-api" / "main.go").exists()
    assert "Shop Ltd" in (dst / "LICENSE").read_text()
    assert "Takes orders." in (dst / "README.md").read_text()
