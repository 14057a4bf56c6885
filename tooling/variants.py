"""The template's answer matrix, read from copier.yml itself.

A choice (or a bool answer) whose validator renders a message is not
available yet; every other combination is a variant the tests must cover.
Finishing a variant therefore needs no change here: removing its validator in
copier.yml puts it under test.

One thing is kept by hand: which choice and bool questions shape the service
(SHAPE_QUESTIONS, combined into variants) and which only change text
(TEXT_QUESTIONS). A new choice or bool question must be added to one of them;
tests/test_hygiene.py fails until it is.

Defaults and validators are rendered with the filters copier gives templates
(jinja2-ansible-filters, a copier dependency) and copier.yml's `_envops`, with
the answers before them as context, and `_external_data` empty, as on a first
copy. Copier's other variables (`_copier_conf`, ...) are not provided: a
default that uses one fails here with its name instead of rendering
differently from copier, and
tests/test_hygiene.py compares these defaults with what `copier copy
--defaults` records.
"""

from __future__ import annotations

import copy
import functools
import itertools
import shlex
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from tooling.covering import pairwise

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = TEMPLATE_ROOT / "copier.yml"

# Choice and bool questions that change what the service does at run time: every
# combination of their available answers is a variant. Kept by hand.
SHAPE_QUESTIONS = (
    "http_framework",
    "logger",
    "config_backend",
    "container_base",
    "database",
    "cache",
    "background_worker",
    "example_api",
    "tracing",
)
# Choice and bool questions that only change text (covered by the render tests). Kept by hand.
TEXT_QUESTIONS = ("license", "ci")


@dataclass(frozen=True)
class Choice:
    question: str
    value: Any
    refusal: str  # empty when the choice is available

    @property
    def available(self) -> bool:
        return not self.refusal


@functools.cache
def _copier_yml() -> dict[str, Any]:
    # copier.yml is read once per process: collecting the suite asks for the defaults thousands of
    # times (every test id names its combination by its difference from them).
    return yaml.safe_load(COPIER_YML.read_text())


def questions() -> dict[str, dict[str, Any]]:
    """copier.yml's questions, less the computed values it never asks nor records (`when: false`)."""
    return {
        k: copy.deepcopy(v)
        for k, v in _copier_yml().items()
        if not k.startswith("_") and v.get("when") is not False
    }


class UnsupportedDefaultError(RuntimeError):
    """copier.yml renders something with a variable only copier itself provides."""


@functools.cache
def _environment() -> SandboxedEnvironment:
    envops = _copier_yml().get("_envops", {})
    return SandboxedEnvironment(
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        undefined=jinja2.StrictUndefined,
        **envops,
    )


def render(template: str, context: dict[str, Any]) -> str:
    """A default or validator of copier.yml, rendered as copier renders it on a first copy."""
    # As on a first copy: `_external_data` files of the project (its answers file) are not there yet.
    first_copy: dict[str, Any] = {"_external_data": defaultdict(dict)}
    try:
        return _environment().from_string(template).render({**first_copy, **context}).strip()
    except jinja2.UndefinedError as err:
        raise UnsupportedDefaultError(
            f"copier.yml renders {template!r} with a variable tooling/variants.py does not provide "
            f"({err}); give it one there"
        ) from err


def _cast(spec: dict[str, Any], value: Any) -> Any:
    """The answer's type, as copier casts a rendered default."""
    kind = spec.get("type", "str")
    if isinstance(value, str) and kind in ("int", "float"):
        return int(value) if kind == "int" else float(value)
    return value


def defaults() -> dict[str, Any]:
    """Default answers, with templated defaults rendered."""
    return dict(_defaults())


@functools.cache
def _defaults() -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for name, q in questions().items():
        default = q.get("default")
        answers[name] = _cast(q, render(default, answers)) if isinstance(default, str) else default
    return answers


def choices(name: str) -> list[Choice]:
    """Every answer of a choice or bool question, with the reason it is refused."""
    return list(_choices(name))


@functools.cache
def _choices(name: str) -> tuple[Choice, ...]:
    q = questions()[name]
    context = defaults()
    result: list[Choice] = []
    if q.get("type") == "bool" and "choices" not in q:
        # The default first, as a choice list puts it: the covering arrays are built in this order.
        for value in sorted((True, False), key=lambda v: v != q.get("default")):
            refusal = render(q.get("validator", ""), {**context, name: value})
            result.append(Choice(name, value, refusal))
        return tuple(result)
    raw = q["choices"]
    items = raw.items() if isinstance(raw, dict) else ((c, c) for c in raw)
    for _label, spec in items:
        if isinstance(spec, dict):
            result.append(Choice(name, spec["value"], render(spec.get("validator", ""), context)))
        else:
            result.append(Choice(name, spec, ""))
    return tuple(result)


def refused_choices() -> list[Choice]:
    return [c for name in SHAPE_QUESTIONS for c in choices(name) if not c.available]


def variants() -> list[dict[str, Any]]:
    """Every combination of available shape answers, the default first."""
    return [dict(row) for row in _variants()]


# The combination lists are made once per process: collecting the suite asks for them once per test
# function that takes a combination; callers get copies.
@functools.cache
def _variants() -> tuple[dict[str, Any], ...]:
    base = _defaults()
    axes = [[c.value for c in choices(name) if c.available] for name in SHAPE_QUESTIONS]
    combos = [dict(zip(SHAPE_QUESTIONS, values, strict=True)) for values in itertools.product(*axes)]
    combos.sort(key=lambda c: sum(c[k] != base[k] for k in SHAPE_QUESTIONS))
    return tuple(combos)


# Shape questions the render tests take in turn over every combination of the others, which pairs
# each of their choices with every answer of every other question (tests/test_covering.py checks it)
# in a sixth of the renders: container_base changes no Go code, only the image and deployment files;
# tracing adds its own files and, beside the logger's, the router's and each dependency's code, lines
# that meet one of those answers at a time, which pairs find.
IN_TURN = ("container_base", "tracing")


def render_variants() -> list[dict[str, Any]]:
    """The combinations the render tests take: every combination of the shape answers but IN_TURN's,
    whose choices go round over them, the default first."""
    return [dict(row) for row in _render_variants()]


@functools.cache
def _render_variants() -> tuple[dict[str, Any], ...]:
    base = _defaults()
    names = [name for name in SHAPE_QUESTIONS if name not in IN_TURN]
    axes = [[c.value for c in choices(name) if c.available] for name in names]
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*axes)]
    combos.sort(key=lambda c: sum(c[k] != base[k] for k in names))
    turns = {name: [c.value for c in choices(name) if c.available] for name in IN_TURN}
    for name, values in turns.items():
        # The default's own value first, so that the first combination is the defaults.
        values.sort(key=lambda v: v != base[name])
    rows = []
    for i, combo in enumerate(combos):
        turn = {name: values[i % len(values)] for name, values in turns.items()}
        rows.append({name: {**combo, **turn}[name] for name in SHAPE_QUESTIONS})
    return tuple(rows)


def variant_id(answers: dict[str, Any]) -> str:
    """A short test id naming only what differs from the defaults."""
    base = _defaults()
    diff = [f"{k}={answers[k]}" for k in SHAPE_QUESTIONS if answers[k] != base[k]]
    return ",".join(diff) or "defaults"


# Shape questions whose every combination the build and runtime tests take, not only every pair:
# the service's dependencies, whose start-up, readiness and shutdown steps meet in one process.
TOGETHER = ("database", "cache", "background_worker")


def pairwise_variants() -> list[dict[str, Any]]:
    """A pairwise covering array of the available shape answers (covering.py), the default first:
    every two answers of every two shape questions meet in at least one combination. Every
    combination of the TOGETHER answers is in it too: those the array lacks are added, with every
    other answer at its default."""
    return [dict(row) for row in _pairwise_variants()]


@functools.cache
def _pairwise_variants() -> tuple[dict[str, Any], ...]:
    base = _defaults()
    axes = {name: [c.value for c in choices(name) if c.available] for name in SHAPE_QUESTIONS}
    first = {name: base[name] for name in SHAPE_QUESTIONS}
    rows = pairwise(axes, first)
    present = {tuple(row[name] for name in TOGETHER) for row in rows}
    for values in itertools.product(*(axes[name] for name in TOGETHER)):
        if values not in present:
            rows.append({**first, **dict(zip(TOGETHER, values, strict=True))})
    return tuple(rows)


def reproduce_command(answers: dict[str, Any], destination: str = "/tmp/reproduce") -> str:
    """The `copier copy` that renders this combination from the working tree."""
    base = defaults()
    data = " ".join(
        f"--data {shlex.quote(f'{k}={answers[k]}')}" for k in SHAPE_QUESTIONS if answers[k] != base[k]
    )
    return " ".join(
        filter(
            None,
            ["copier copy --vcs-ref HEAD --defaults", data, shlex.quote(str(TEMPLATE_ROOT)), destination],
        )
    )


def combinations_summary(outcomes: dict[str, bool], known: dict[str, dict[str, Any]]) -> list[str]:
    """What the end of a run says: combinations tried, passed and failed, and how to reproduce
    each failure."""
    failed = [vid for vid, ok in outcomes.items() if not ok]
    lines = [
        f"combinations: {len(outcomes)} tried, {len(outcomes) - len(failed)} passed, {len(failed)} failed"
    ]
    for vid in failed:
        dst = "/tmp/" + (vid.replace("=", "-").replace(",", "_") or "defaults")
        lines += [f"FAILED combination {vid}", f"  reproduce: {reproduce_command(known[vid], dst)}"]
    return lines


class SelectionError(ValueError):
    """A combination selection (`--combination`) names an answer copier.yml does not offer."""


def parse_selection(text: str) -> dict[str, Any]:
    """`http_framework=gin,logger=zap` as answers, each checked against copier.yml: a question that is
    not a shape question, or a value it does not offer (or refuses), is an error naming the valid
    ones. Bool answers are written true/false (any case, as test ids write them)."""
    selection: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, raw = part.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name or not raw:
            raise SelectionError(f"{part!r} is not QUESTION=ANSWER (e.g. http_framework=gin,logger=zap)")
        if name not in SHAPE_QUESTIONS:
            raise SelectionError(
                f"{name!r} is not a question combinations differ by; valid: {', '.join(SHAPE_QUESTIONS)}"
            )
        offered = choices(name)
        found = [c for c in offered if str(c.value).lower() == raw.lower()]
        if not found:
            valid = ", ".join(
                str(c.value).lower() if isinstance(c.value, bool) else str(c.value) for c in offered
            )
            raise SelectionError(f"{name}={raw}: copier.yml offers {valid}")
        if not found[0].available:
            raise SelectionError(f"{name}={raw} is not available yet: {found[0].refusal}")
        if name in selection and selection[name] != found[0].value:
            raise SelectionError(f"{name} is given twice: {selection[name]} and {raw}")
        selection[name] = found[0].value
    if not selection:
        raise SelectionError("an empty selection: give QUESTION=ANSWER pairs, e.g. http_framework=gin")
    return selection


def is_combination(value: Any) -> bool:
    """Whether a test parameter is a combination of answers (it names every shape question)."""
    return isinstance(value, dict) and all(name in value for name in SHAPE_QUESTIONS)


def selected(answers: dict[str, Any], selections: list[dict[str, Any]]) -> bool:
    """Whether a combination matches one of the selections (every answer of it)."""
    return any(all(answers[k] == v for k, v in sel.items()) for sel in selections)
