"""gomod/: the lock every variant's go.mod and go.sum render from agrees with modules.toml, and
go.sum lines are ordered as the go command orders them. Whether each rendered variant is tidy is
test_render's `go mod tidy -diff`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tooling import gomod, variants


def test_lock_covers_exactly_the_answer_sets_of_modules_toml() -> None:
    sets = gomod.answer_sets()
    combos = gomod.combinations(sets)
    lock = json.loads(gomod.LOCK.read_text())
    named = {name for combo in combos for name in combo}
    used = {name for entry in lock["require"] + lock["sum"] for term in entry["when"] for name in term}
    assert set(sets) <= used <= named, "modules.toml changed: run `nox -s gomod`"
    require = {r["path"]: r for r in lock["require"]}
    for name, modules in sets.items():
        for path, version in modules.items():
            assert path in require, f"{path} ({name}) is not in the lock: run `nox -s gomod`"
            assert require[path]["version"] == version, f"{path}: run `nox -s gomod`"
            assert [name] in require[path]["direct"], f"{path} ({name}): run `nox -s gomod`"


GIN, CHI, STD = "http_framework=gin", "http_framework=chi", "http_framework=stdlib"
VIPER, ENV = "config_backend=viper", "config_backend=env"
COMBOS = [(gomod.ALWAYS, f, c) for f in (STD, CHI, GIN) for c in (ENV, VIPER)]


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (COMBOS, [[gomod.ALWAYS]]),
        ([c for c in COMBOS if GIN in c], [[GIN]]),
        ([c for c in COMBOS if GIN in c or VIPER in c], [[VIPER], [GIN]]),
        # Needed by viper unless gin's modules imply it.
        ([c for c in COMBOS if VIPER in c and GIN not in c], [[VIPER, CHI], [VIPER, STD]]),
        ([(gomod.ALWAYS, GIN, VIPER)], [[VIPER, GIN]]),
    ],
)
def test_conditions_hold_in_exactly_the_combinations_given(
    present: list[tuple[str, ...]], expected: list[list[str]]
) -> None:
    terms = gomod.conditions(set(present), COMBOS)
    assert terms == expected
    holding = {c for c in COMBOS if any(set(t) - {gomod.ALWAYS} <= set(c) for t in terms)}
    assert holding == set(present)


def test_every_answer_set_names_an_answer_of_copier_yml() -> None:
    for name in gomod.answer_sets():
        if name != gomod.ALWAYS:
            question, _, value = name.partition("=")
            assert value in {str(c.value).lower() for c in variants.choices(question)}, name


def test_go_sum_order() -> None:
    # golang.org/x/mod/semver order, and a version's go.mod hash after its tree's.
    lines = [
        "example.com/a v1.2.0-rc.1 h1:x",
        "example.com/a v1.2.0 h1:x",
        "example.com/a v1.2.0/go.mod h1:x",
        "example.com/a v1.10.0/go.mod h1:x",
        "example.com/a/v2 v2.0.0-20191010083416-a7dc8b61c822/go.mod h1:x",
        "example.com/b v0.0.0-20191010083416-a7dc8b61c822 h1:x",
        "example.com/b v0.9.0+incompatible h1:x",
    ]
    assert sorted(reversed(lines), key=gomod.sum_key) == lines


# A module of OpenTelemetry's or one that bridges a library to it (otelpgx, redisotel, ...).
OPENTELEMETRY = re.compile(r"(?i)opentelemetry|otel")


def test_opentelemetry_modules_come_with_tracing_only() -> None:
    """tracing=none brings no dependency (copier.yml says so): every go.mod requirement and go.sum
    line of the lock that names an OpenTelemetry module is needed only where tracing=otel is
    answered, whatever the other answers; and tracing=otel needs some."""
    lock = json.loads(gomod.LOCK.read_text())
    entries = [(r["path"], r["when"]) for r in lock["require"]] + [
        (s["line"], s["when"]) for s in lock["sum"]
    ]
    traced = [(what, when) for what, when in entries if OPENTELEMETRY.search(what.split()[0])]
    assert traced, "the lock has no OpenTelemetry module, which tracing=otel needs: run `nox -s gomod`"
    elsewhere = [f"{what}: {when}" for what, when in traced if not all("tracing=otel" in t for t in when)]
    assert not elsewhere, "OpenTelemetry modules needed without tracing=otel:\n" + "\n".join(elsewhere)


def module_paths(project: Path) -> set[str]:
    """The module paths go.mod requires and go.sum lists."""
    go_mod = (project / "go.mod").read_text()
    required = re.findall(r"^(?:require\s+|\t)(\S+) v\S+", go_mod, re.M)
    summed = [line.split()[0] for line in (project / "go.sum").read_text().splitlines() if line]
    return {*required, *summed}


def test_rendered_go_mod_names_opentelemetry_exactly_when_tracing(
    variant: dict[str, Any], project: Path
) -> None:
    """A rendered project without tracing requires no OpenTelemetry module, and one with it requires
    OpenTelemetry's API: the lock's conditions are what the template renders."""
    found = sorted(p for p in module_paths(project) if OPENTELEMETRY.search(p))
    if variant["tracing"] == "otel":
        assert "go.opentelemetry.io/otel" in found, found
    else:
        assert found == [], f"tracing={variant['tracing']} brings OpenTelemetry modules: {found}"
