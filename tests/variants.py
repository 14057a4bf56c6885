"""The template's answer matrix, read from copier.yml itself.

A choice (or a bool answer) whose validator renders a message is not
available yet; every other combination is a variant the tests must cover.
Finishing a variant therefore needs no change here: removing its validator in
copier.yml puts it under test.
"""

from __future__ import annotations

import itertools
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from covering import pairwise

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = TEMPLATE_ROOT / "copier.yml"

# Questions that change what the service does at run time; the others (name,
# license, ...) only change text and are covered by the render tests.
SHAPE_QUESTIONS = (
    "http_framework",
    "logger",
    "config_backend",
    "container_base",
    "database",
    "cache",
    "background_worker",
    "example_api",
)


@dataclass(frozen=True)
class Choice:
    question: str
    value: Any
    refusal: str  # empty when the choice is available

    @property
    def available(self) -> bool:
        return not self.refusal


def questions() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(COPIER_YML.read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _render(template: str, context: dict[str, Any]) -> str:
    return jinja2.Environment().from_string(template).render(context).strip()


def defaults() -> dict[str, Any]:
    """Default answers, with templated defaults rendered."""
    answers: dict[str, Any] = {}
    for name, q in questions().items():
        default = q.get("default")
        answers[name] = _render(default, answers) if isinstance(default, str) else default
    return answers


def choices(name: str) -> list[Choice]:
    """Every answer of a choice or bool question, with the reason it is refused."""
    q = questions()[name]
    context = defaults()
    result: list[Choice] = []
    if q.get("type") == "bool" and "choices" not in q:
        for value in (True, False):
            refusal = _render(q.get("validator", ""), {**context, name: value})
            result.append(Choice(name, value, refusal))
        return result
    raw = q["choices"]
    items = raw.items() if isinstance(raw, dict) else ((c, c) for c in raw)
    for _label, spec in items:
        if isinstance(spec, dict):
            result.append(Choice(name, spec["value"], _render(spec.get("validator", ""), context)))
        else:
            result.append(Choice(name, spec, ""))
    return result


def refused_choices() -> list[Choice]:
    return [c for name in SHAPE_QUESTIONS for c in choices(name) if not c.available]


def variants() -> list[dict[str, Any]]:
    """Every combination of available shape answers, the default first."""
    base = defaults()
    axes = [[c.value for c in choices(name) if c.available] for name in SHAPE_QUESTIONS]
    combos = [dict(zip(SHAPE_QUESTIONS, values, strict=True)) for values in itertools.product(*axes)]
    combos.sort(key=lambda c: sum(c[k] != base[k] for k in SHAPE_QUESTIONS))
    return combos


def variant_id(answers: dict[str, Any]) -> str:
    """A short test id naming only what differs from the defaults."""
    base = defaults()
    diff = [f"{k}={answers[k]}" for k in SHAPE_QUESTIONS if answers[k] != base[k]]
    return ",".join(diff) or "defaults"


def pairwise_variants() -> list[dict[str, Any]]:
    """A pairwise covering array of the available shape answers (covering.py), the default first:
    every two answers of every two shape questions meet in at least one combination."""
    base = defaults()
    axes = {name: [c.value for c in choices(name) if c.available] for name in SHAPE_QUESTIONS}
    return pairwise(axes, {name: base[name] for name in SHAPE_QUESTIONS})


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
