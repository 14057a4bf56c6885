"""`copier copy` answered by a person at a real pseudo-terminal of 80 columns: every help line and
refusal fits, bad answers are refused at the prompt with how to fix them, the answers given end up
in the project, and the closing message says what to do next. (An unfinished variant's refusal is
tested in test_render.py, on a copy of the template that has one.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pexpect
import pytest
import yaml

from tooling.variants import COPIER_YML, TEMPLATE_ROOT, defaults, questions

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
        dimensions=(24, 80),
    )
    transcript = tmp_path / "transcript.log"
    with transcript.open("w") as log:
        child.logfile_read = log

        def answer(prompt: str, keys: str = "") -> None:
            child.expect_exact(prompt)
            child.send(keys + "\r")

        # Each refusal is expected whole: at 80 columns a longer one would be cut.
        answer("Service name", CLEAR_LINE + "Orders API")
        child.expect_exact("'project_name': use kebab-case, e.g. orders-api")
        child.send(CLEAR_LINE + "orders-api\r")
        answer("Go module path", CLEAR_LINE + "github.com/acme/orders api")
        child.expect_exact("'module_path': use the form github.com/acme/app")
        child.send(CLEAR_LINE + "example.com/shop/orders\r")
        answer("One sentence", CLEAR_LINE + "Takes orders.")
        answer("Go version", CLEAR_LINE + "1.21")
        child.expect_exact("'go_version': use 1.26 or newer")
        child.send(CLEAR_LINE + "1.26\r")
        answer("HTTP router", DOWN + DOWN)  # stdlib, chi, gin
        for prompt in (
            "Structured logger",
            "Where configuration",
            "Runtime image base",
        ):
            answer(prompt)
        answer("Database", DOWN)  # none, postgres
        answer("Cache", DOWN)  # none, redis
        # A yes/no question: "y" answers it at once, without Enter.
        child.expect_exact("background worker")
        child.send("y")
        answer("example resource")
        answer("Distributed tracing", DOWN)  # none, otel
        answer("CI for the repository", DOWN)
        answer("License", DOWN)
        answer("Copyright holder", CLEAR_LINE + "Shop Ltd")
        child.expect_exact("orders-api is ready. Next:")
        for line in (f"cd {dst}", "make run", "make test", "README.md"):
            child.expect_exact(line)
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 0, transcript.read_text()

    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "orders-api"
    assert answers["module_path"] == "example.com/shop/orders"
    assert answers["description"] == "Takes orders."
    assert answers["http_framework"] == "gin"
    assert answers["database"] == "postgres"
    assert answers["cache"] == "redis"
    assert answers["background_worker"] is True
    assert answers["tracing"] == "otel"
    assert (dst / "internal" / "tracing" / "tracing.go").exists()
    assert answers["license"] == "Apache-2.0"
    assert answers["ci"] == "gitlab"
    assert (dst / ".gitlab-ci.yml").exists()
    assert not (dst / ".github").exists()
    assert (dst / "cmd" / "orders-api" / "main.go").exists()
    assert (dst / "internal" / "worker" / "worker.go").exists()
    assert (dst / "internal" / "postgres").is_dir()
    assert (dst / "internal" / "cache").is_dir()
    assert "Shop Ltd" in (dst / "LICENSE").read_text()
    assert "Takes orders." in (dst / "README.md").read_text()


# A copier prompt prints a question's help after a 3-column marker, and a refusal in one line
# that the terminal cuts, after this prefix.
TERMINAL_COLUMNS = 80
HELP_COLUMNS = 72
REFUSAL_PREFIX = "Validation error for question '{}': "

# Answers each validated question must refuse; a validator without examples here fails the test.
BAD_ANSWERS: dict[str, list[Any]] = {
    "project_name": ["Orders API", "orders--api", "9lives", "a" * 51],
    "module_path": ["github.com/acme/orders api", "github.com/acme/", "/acme"],
    "description": ["", "   ", "two\nlines"],
    "go_version": ["1.26.1", "go1.26", "1.21"],
    "copyright_holder": ["", "  "],
    "copyright_year": [1969, 10000],
}


def copier_jinja() -> jinja2.Environment:
    """Jinja as copier configures it for copier.yml (its filters included)."""
    return jinja2.Environment(extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"])


@pytest.mark.parametrize("name", questions())
def test_help_is_one_short_line(name: str) -> None:
    help_text = questions()[name].get("help", "")
    assert help_text, f"{name} has no help"
    assert "\n" not in help_text.strip(), f"{name}'s help is more than one line"
    assert len(help_text) <= HELP_COLUMNS, f"{name}'s help is {len(help_text)} > {HELP_COLUMNS} characters"


@pytest.mark.parametrize("name", [name for name, q in questions().items() if "choices" in q])
def test_each_choice_says_how_to_pick_it(name: str) -> None:
    """A choice reads "value: when to pick it", on one line of the prompt."""
    for title, value in questions()[name]["choices"].items():
        assert title.startswith(f"{value}: "), f"{name}: {title!r} does not start with '{value}: '"
        reason = title.removeprefix(f"{value}: ")
        assert len(reason.split()) >= 3, f"{name}: {title!r} does not say in a few words when to pick it"
        assert len(title) <= HELP_COLUMNS, f"{name}: {title!r} is {len(title)} > {HELP_COLUMNS} characters"


def test_every_validator_has_bad_answers_to_try() -> None:
    validated = {name for name, q in questions().items() if "validator" in q}
    assert validated == set(BAD_ANSWERS), "keep BAD_ANSWERS in step with copier.yml's validators"


@pytest.mark.parametrize(
    ("name", "answer"), [(name, answer) for name, answers in BAD_ANSWERS.items() for answer in answers]
)
def test_refusal_fits_one_terminal_line(name: str, answer: Any) -> None:
    validator = questions()[name]["validator"]
    message = copier_jinja().from_string(validator).render({**defaults(), name: answer}).strip()
    assert message, f"{name}={answer!r} is accepted"
    assert "\n" not in message, f"{name}'s refusal is more than one line: {message!r}"
    line = REFUSAL_PREFIX.format(name) + message
    assert len(line) <= TERMINAL_COLUMNS, f"cut at {TERMINAL_COLUMNS} columns: {line!r}"


def test_good_answers_pass_the_validators() -> None:
    context = defaults()
    for name, q in questions().items():
        if "validator" in q:
            assert not copier_jinja().from_string(q["validator"]).render(context).strip(), name


MESSAGE_AFTER_COPY = yaml.safe_load(COPIER_YML.read_text())["_message_after_copy"]


@pytest.mark.parametrize(
    ("src_path", "warned"),
    [
        ("gh:acme/copier-go-service", False),
        ("gl:acme/copier-go-service", False),
        ("https://github.com/acme/copier-go-service.git", False),
        ("git@github.com:acme/copier-go-service.git", False),
        ("ssh://git@example.com/acme/copier-go-service.git", False),
        ("git+https://example.com/copier-go-service", False),
        ("/home/me/copier-go-service", True),
        ("../copier-go-service", True),
        ("file:///home/me/copier-go-service", True),
    ],
)
def test_message_after_copy(src_path: str, warned: bool) -> None:
    context = {
        **defaults(),
        "_copier_answers": {"_src_path": src_path},
        "_copier_conf": {"dst_path": "../orders-api"},
    }
    message = copier_jinja().from_string(MESSAGE_AFTER_COPY).render(context)
    for line in ("    cd ../orders-api\n", "    make run ", "    make test ", "README.md"):
        assert line in message, message
    assert ("Warning: the template came from a local path" in message) is warned, message
    ours = [line for line in message.splitlines() if src_path not in line]
    assert all(len(line) <= TERMINAL_COLUMNS for line in ours), message


COPIER_MESSAGES = yaml.safe_load(COPIER_YML.read_text())
CHOICE_QUESTIONS = [name for name, q in questions().items() if "choices" in q]


def message_before(operation: str, data: dict[str, Any]) -> str:
    template = COPIER_MESSAGES[f"_message_before_{operation}"]
    return copier_jinja().from_string(template).render({"_copier_conf": {"data": data}})


@pytest.mark.parametrize("operation", ["copy", "update"])
@pytest.mark.parametrize("name", CHOICE_QUESTIONS)
def test_refused_choice_is_named_in_one_line(operation: str, name: str) -> None:
    """Before copier's traceback, one line names the refused answer and every choice offered."""
    offered = list(questions()[name]["choices"].values())
    assert message_before(operation, {name: "fiber"}).strip() == (
        f"--data {name}=fiber is refused: choose one of {', '.join(map(str, offered))}."
    )
    for value in offered:
        assert message_before(operation, {name: value}) == "", value


def test_refused_choice_is_named_before_the_traceback(tmp_path: Path) -> None:
    dst = tmp_path / "svc"
    proc = subprocess.run(
        [
            COPIER,
            "copy",
            "--vcs-ref",
            "HEAD",
            "--defaults",
            "--data",
            "http_framework=fiber",
            str(TEMPLATE_ROOT),
            str(dst),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode != 0
    first = next(line for line in proc.stderr.splitlines() if line.startswith(("--data", "Traceback")))
    assert first == "--data http_framework=fiber is refused: choose one of stdlib, chi, gin, echo.", (
        proc.stderr
    )
    assert not (tmp_path / "svc").exists()
