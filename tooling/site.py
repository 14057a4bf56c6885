"""What the documentation site generates rather than keeps by hand: the reference of every question,
read from copier.yml and the template's own file names, and mermaid, pinned and fetched from the npm
registry so that the site serves it itself (tooling/site_hooks.py puts both into the build).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import jinja2

from tooling import variants
from tooling.quickstart import read as read_quickstart

TEMPLATE_DIR = variants.TEMPLATE_ROOT / "template"
PERFORMANCE_MD = variants.TEMPLATE_ROOT / "docs" / "performance.md"
GOMOD_LOCK = variants.TEMPLATE_ROOT / "gomod" / "lock.json"

# Material for MkDocs asks for mermaid 11 (it loads it from a CDN unless the page has it already).
MERMAID_VERSION = "11.17.2"
MERMAID_INTEGRITY = (
    "sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7LoaRQxULMa80/qt5gHO73aCleBBg=="
)
MERMAID_TARBALL = f"https://registry.npmjs.org/mermaid/-/mermaid-{MERMAID_VERSION}.tgz"
MERMAID_MEMBER = "package/dist/mermaid.min.js"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "copier-go-service"


def mermaid_script() -> Path:
    """mermaid.min.js of the pinned version: fetched once per machine from the npm registry, and
    refused unless the tarball has the integrity hash the registry published for it."""
    script = cache_dir() / f"mermaid-{MERMAID_VERSION}.min.js"
    if script.exists():
        return script
    with urllib.request.urlopen(MERMAID_TARBALL, timeout=120) as response:
        tarball = response.read()
    algorithm, expected = MERMAID_INTEGRITY.split("-", 1)
    if base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() != expected:
        raise RuntimeError(f"{MERMAID_TARBALL} does not have the pinned integrity {MERMAID_INTEGRITY}")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile(MERMAID_MEMBER)
        if member is None:
            raise RuntimeError(f"{MERMAID_TARBALL} has no {MERMAID_MEMBER}")
        data = member.read()
    script.parent.mkdir(parents=True, exist_ok=True)
    partial = script.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(script)
    return script


def quickstart_block() -> str:
    """The README's Quick start commands, as a shell block."""
    quick = read_quickstart()
    return f"```sh\n{quick.generate}\n{quick.test}\n```"


def generated_files(answers: dict[str, Any]) -> set[str]:
    """The paths of the files a copy with these answers generates (their names rendered, `.jinja`
    dropped), from the template's file names alone."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    answers = {**answers, "_copier_conf": {"answers_file": ".copier-answers.yml"}}
    paths: set[str] = set()
    for path in TEMPLATE_DIR.rglob("*"):
        if not path.is_file():
            continue
        parts = [env.from_string(p).render(answers) for p in path.relative_to(TEMPLATE_DIR).parts]
        if all(parts):
            paths.add("/".join(parts).removesuffix(".jinja"))
    return paths


def files_reading(question: str) -> list[str]:
    """The generated files (named as with the default answers) whose text depends on a question: a
    Jinja tag of theirs names it, or, for the router, the folder of the chosen router's files."""
    names = {question, "router_dir"} if question == "http_framework" else {question}
    tag = re.compile(r"\{[{%](.*?)[%}]\}", re.S)
    found: set[str] = set()
    for path in TEMPLATE_DIR.rglob("*.jinja"):
        words = {w for t in tag.findall(path.read_text()) for w in re.findall(r"\w+", t)}
        if words & names:
            found.add(_readable(path.relative_to(TEMPLATE_DIR).as_posix()).removesuffix(".jinja"))
    return sorted(found)


def _readable(template_path: str) -> str:
    """A template's path as the file it generates is named: its conditions dropped, `{{ name }}`
    as `<name>`."""
    path = re.sub(r"\{%.*?%\}", "", template_path)
    path = path.replace("{{_copier_conf.answers_file}}", ".copier-answers.yml")
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", r"<\1>", path)


def _answers(question: str, spec: dict[str, Any]) -> list[tuple[Any, str]]:
    """A question's answers with the words copier.yml's prompt gives each."""
    if spec.get("type") == "bool" and "choices" not in spec:
        return [(True, "yes"), (False, "no")]
    raw = spec.get("choices") or {}
    items = raw.items() if isinstance(raw, dict) else ((str(c), c) for c in raw)
    result: list[tuple[Any, str]] = []
    for label, value in items:
        value = value["value"] if isinstance(value, dict) else value
        result.append((value, str(label).partition(": ")[2] or str(label)))
    return result


def _code(value: Any) -> str:
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`" if str(value) else "(empty)"


def questions_reference() -> str:
    """Every question of copier.yml: its prompt, default, answers, and the files only an answer
    generates (compared with the question's other answers, the others at their defaults)."""
    raw = variants._copier_yml()
    defaults = variants.defaults()
    lines = [
        "# Questions",
        "",
        "Every question `copier copy` asks, generated from the template's `copier.yml` when this site is",
        "built: the prompt's words, the default, each answer and the files only that answer generates",
        "(the other questions at their defaults). Pass an answer without the prompt with",
        "`--data question=answer`.",
        "",
    ]
    for name, spec in variants.questions().items():
        lines += [f"## `{name}`", "", str(spec.get("help", "")).rstrip(".") + ".", ""]
        default = raw[name].get("default")
        facts = [f"Type: `{spec.get('type', 'str')}`.", f"Default: {_code(default)}."]
        if spec.get("ask") is False:
            facts.append("Not asked: recorded, and settable with `--data`.")
        when = spec.get("when")
        if isinstance(when, str):
            facts.append(f"Asked only when `{when.strip('{} ')}`.")
        lines += [" ".join(facts), ""]
        reading = files_reading(name)
        if reading:
            lines += ["Its answer shapes the text of " + ", ".join(f"`{f}`" for f in reading) + ".", ""]
        answers = _answers(name, spec)
        if not answers:
            continue
        files = {value: generated_files({**defaults, name: value}) for value, _ in answers}
        lines += ["| Answer | What it gives | Files only this answer generates |", "|---|---|---|"]
        for value, words in answers:
            others = set().union(*(f for v, f in files.items() if v != value))
            own = sorted(files[value] - others)
            listed = ", ".join(f"`{f}`" for f in own) or "none"
            lines.append(f"| {_code(value)} | {words} | {listed} |")
        lines.append("")
    return "\n".join(lines)


def go_modules(answers: dict[str, Any]) -> int:
    """How many modules the go.mod of a copy with these answers requires (gomod/lock.json)."""

    def holds(term: str) -> bool:
        question, _, value = term.partition("=")
        return term == "always" or str(answers.get(question)).lower() == value.lower()

    lock = json.loads(GOMOD_LOCK.read_text())
    return sum(any(all(map(holds, when)) for when in module["when"]) for module in lock["require"])


def bench_targets(text: str) -> dict[str, dict[str, str]]:
    """The benchmark's targets table (between the bench markers of docs/performance.md): each
    variant's measured value of each target, by the target's name."""
    generated = text.partition("<!-- bench:begin -->")[2].partition("<!-- bench:end -->")[0]
    section = generated.partition("### Targets")[2].partition("\n### ")[0]
    rows = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    if not rows:
        raise ValueError(f"{PERFORMANCE_MD} has no table of targets between its bench markers")
    header, *body = rows
    table: dict[str, dict[str, str]] = {variant: {} for variant in header[2:]}
    for row in body:
        for variant, cell in zip(header[2:], row[2:], strict=True):
            table[variant][row[0]] = re.sub(r"\s*(\*\*FAIL\*\*|pass)$", "", cell).strip()
    return table


# The benchmark's targets the choosing page shows, and their column titles.
CHOOSING_COLUMNS = {
    "Time per request added by the stack (Go benchmark)": "Time the stack adds",
    "Allocations per request added by the stack": "Allocations it adds",
    "Binary size (Dockerfile flags)": "Binary",
    "Resident memory, idle": "Memory, idle",
}


def choosing_table(question: str) -> str:
    """A question's answers side by side: when to pick each (copier.yml's words), the modules its
    go.mod requires, and, for the benchmarked questions, what the benchmark measured (each answer
    with every other question at its default)."""
    defaults = variants.defaults()
    spec = variants.questions()[question]
    measured = bench_targets(PERFORMANCE_MD.read_text()) if question in ("http_framework", "logger") else {}
    titles = ["Answer", "When to pick it", "Modules in go.mod"]
    titles += list(CHOOSING_COLUMNS.values()) if measured else []
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for value, words in _answers(question, spec):
        cells = [_code(value), words, str(go_modules({**defaults, question: value}))]
        if measured:
            column = "defaults" if value == defaults[question] else f"{question}={value}"
            cells += [measured[column].get(target, "not measured") for target in CHOOSING_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


README = variants.TEMPLATE_ROOT / "README.md"
README_TABLE = re.compile(r"(<!-- questions:begin -->\n)(.*?)(<!-- questions:end -->)", re.S)


def _default_words(question: str, default: Any) -> str:
    """A question's default as the README shows it: a templated one in words."""
    if isinstance(default, str) and "strftime" in default:
        return "the year of the first copy"
    if isinstance(default, str):
        default = re.sub(r"\{\{\s*(\w+)\s*\}\}", r"<\1>", default)
    return _code(default) if default != "" else ""


def readme_questions_table() -> str:
    """The README's table of questions, from copier.yml: the same source as the site's reference."""
    raw = variants._copier_yml()
    lines = ["| Question | Default | Meaning |", "|---|---|---|"]
    for name, spec in variants.questions().items():
        meaning = str(spec.get("help", "")).rstrip(".")
        answers = [value for value, _ in _answers(name, spec)] if "choices" in spec else []
        if answers:
            meaning += ": " + ", ".join(_code(a) for a in answers[:-1]) + f" or {_code(answers[-1])}"
        if spec.get("ask") is False:
            meaning += " (not asked: recorded, so that updates keep it; `--data` sets another)"
        lines.append(f"| `{name}` | {_default_words(name, raw[name].get('default'))} | {meaning} |")
    return "\n".join(lines) + "\n"


def write_readme_table() -> bool:
    """Rewrite the README's table of questions from copier.yml; whether it changed."""
    text = README.read_text()
    new = README_TABLE.sub(lambda m: m[1] + readme_questions_table() + m[3], text)
    if new != text:
        README.write_text(new)
    return new != text


if __name__ == "__main__":
    print("README.md's table of questions", "rewritten" if write_readme_table() else "is current")
