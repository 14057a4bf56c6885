"""Migrations that `copier update` runs in a generated project (see `_migrations` in copier.yml).

Question names and choice values are recorded in each project's answers file, so renaming
one would make an update forget the user's answer and fall back to the default. A version
that renames one carries a migration, run before the update replays the answers, that
rewrites the recorded answer:

    rename-answer OLD NEW              the question OLD is now called NEW
    rename-choice QUESTION OLD NEW     the choice OLD of QUESTION is now called NEW

The script needs only Python and PyYAML, which copier itself depends on; copier runs it with
its own interpreter (`_copier_python`), from the project's directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml


def load(path: Path) -> tuple[list[str], dict[str, Any]]:
    """The answers file's leading comment lines and its answers."""
    text = path.read_text(encoding="utf-8")
    header = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    answers = yaml.safe_load(text) or {}
    if not isinstance(answers, dict):
        raise SystemExit(f"{path}: expected a mapping of answers, found {type(answers).__name__}")
    return header, answers


def save(path: Path, header: list[str], answers: dict[str, Any]) -> None:
    body = yaml.safe_dump(answers, sort_keys=False, allow_unicode=True, default_flow_style=False)
    path.write_text("".join(f"{line}\n" for line in header) + body, encoding="utf-8")


def rename_answer(answers: dict[str, Any], old: str, new: str) -> str:
    if old not in answers:
        return f"no answer recorded for {old!r}; nothing to rename"
    if new in answers:
        raise SystemExit(f"both {old!r} and {new!r} are recorded; keep one of them and update again")
    # Rebuild the mapping so the renamed answer keeps its place in the file.
    renamed = {(new if key == old else key): value for key, value in answers.items()}
    answers.clear()
    answers.update(renamed)
    return f"renamed the answer {old!r} to {new!r}"


def rename_choice(answers: dict[str, Any], question: str, old: str, new: str) -> str:
    value = answers.get(question)
    if isinstance(value, list):  # a multiselect answer
        if old not in value:
            return f"{question!r} does not include {old!r}; nothing to rename"
        answers[question] = [new if item == old else item for item in value]
    elif value == old:
        answers[question] = new
    else:
        return f"{question!r} is not {old!r}; nothing to rename"
    return f"renamed the choice {old!r} of {question!r} to {new!r}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="migrate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers-file", type=Path, default=Path(".copier-answers.yml"))
    commands = parser.add_subparsers(dest="command", required=True)
    answer = commands.add_parser("rename-answer", help="a question was renamed")
    answer.add_argument("old")
    answer.add_argument("new")
    choice = commands.add_parser("rename-choice", help="a choice of a question was renamed")
    choice.add_argument("question")
    choice.add_argument("old")
    choice.add_argument("new")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    path: Path = args.answers_file
    if not path.is_file():
        raise SystemExit(f"{path}: answers file not found; run the update from the project's directory")
    header, answers = load(path)
    if args.command == "rename-answer":
        message = rename_answer(answers, args.old, args.new)
    else:
        message = rename_choice(answers, args.question, args.old, args.new)
    save(path, header, answers)
    print(f"{path}: {message}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
