"""Migrations that `copier update` runs in a generated project (see `_migrations` in copier.yml).

Question names and choice values are recorded in each project's answers file, so renaming
one would make an update forget the user's answer and fall back to the default. A version
that renames one carries a migration, run before the update replays the answers, that
rewrites the recorded answer:

    rename-answer OLD NEW              the question OLD is now called NEW
    rename-choice QUESTION OLD NEW     the choice OLD of QUESTION is now called NEW

When a version stops generating a file, copier removes it from the project, even if the user
had edited it. A version that deletes or moves a file carries a migration, run after the
update, that keeps the user's edits:

    keep-edited PATH [--moved-to NEW]  if the user had edited PATH, keep it (deleted) or merge
                                       the edits into NEW (moved), with conflict markers where
                                       both changed the same lines

The script needs only Python, PyYAML and copier, which copier runs it with (`_copier_python`),
from the project's directory.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
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


def committed(path: str) -> bytes | None:
    """The project's committed version of path (the update has not been committed yet)."""
    proc = subprocess.run(["git", "show", f"HEAD:{path}"], capture_output=True, check=False)
    return proc.stdout if proc.returncode == 0 else None


def render_old_version(template: str, version: str, answers_file: Path, dst: Path) -> None:
    """Render the version the project was last updated to, with the answers it recorded."""
    recorded = yaml.safe_load(committed(str(answers_file)) or b"{}") or {}
    data = dst.parent / "answers.yml"
    data.write_text(yaml.safe_dump({k: v for k, v in recorded.items() if not k.startswith("_")}))
    subprocess.run(
        [
            *(sys.executable, "-m", "copier", "copy", "--quiet", "--defaults", "--trust", "--skip-tasks"),
            *("--vcs-ref", version, "--data-file", str(data), template, str(dst)),
        ],
        check=True,
    )


def keep_edited(path: str, moved_to: str | None, template: str, version: str, answers_file: Path) -> str:
    users = committed(path)
    if users is None or Path(path).exists():
        return f"{path} is still in place; nothing to keep"
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp, "old")
        render_old_version(template, version, answers_file, old)
        base = old / path
        if base.is_file() and base.read_bytes() == users:
            return f"{path} was not edited; nothing to keep"
        if moved_to is None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_bytes(users)
            return f"the template no longer generates {path}; your edited version is kept"
        if not base.is_file():
            base.write_bytes(b"")
        merged = Path(tmp, "merged")
        merged.write_bytes(users)
        proc = subprocess.run(
            [
                *("git", "merge-file", "-L", "before updating", "-L", "last update", "-L", "after updating"),
                *(str(merged), str(base), moved_to),
            ],
            check=False,
        )
        if proc.returncode < 0 or proc.returncode > 127:
            raise SystemExit(f"git merge-file failed on {path} and {moved_to}")
        Path(moved_to).write_bytes(merged.read_bytes())
    if proc.returncode:
        return f"{path} moved to {moved_to}; resolve the conflict markers where your edits met the template's"
    return f"{path} moved to {moved_to}; your edits were merged into it"


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
    keep = commands.add_parser("keep-edited", help="a file was deleted or moved (run after the update)")
    keep.add_argument("path")
    keep.add_argument("--moved-to")
    keep.add_argument("--template", required=True, help="the template (_copier_conf.src_path)")
    keep.add_argument("--from-version", required=True, help="the version updated from (_version_from)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    path: Path = args.answers_file
    if not path.is_file():
        raise SystemExit(f"{path}: answers file not found; run the update from the project's directory")
    if args.command == "keep-edited":
        message = keep_edited(args.path, args.moved_to, args.template, args.from_version, path)
        print(message, file=sys.stderr)
        return 0
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
