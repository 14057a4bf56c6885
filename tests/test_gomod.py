"""gomod/: the lock every variant's go.mod and go.sum render from agrees with modules.toml, and
go.sum lines are ordered as the go command orders them. Whether each rendered variant is tidy is
test_render's `go mod tidy -diff`."""

from __future__ import annotations

import yaml

from tooling import gomod, variants


def test_lock_covers_exactly_the_answer_sets_of_modules_toml() -> None:
    sets = gomod.answer_sets()
    lock = yaml.safe_load(gomod.LOCK.read_text())
    used = {s for entry in lock["require"] + lock["sum"] for s in entry["sets"]}
    assert used == set(sets), "modules.toml changed: run `nox -s gomod`"
    require = {r["path"]: r for r in lock["require"]}
    for name, modules in sets.items():
        for path, version in modules.items():
            assert path in require, f"{path} ({name}) is not in the lock: run `nox -s gomod`"
            assert require[path]["version"] == version, f"{path}: run `nox -s gomod`"
            assert name in require[path]["direct"], f"{path} ({name}): run `nox -s gomod`"


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
