"""The pairwise generator covers every pair, starts with the defaults, and is deterministic."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from tooling.covering import all_pairs, pairs_of, pairwise
from tooling.variants import (
    IN_TURN,
    SHAPE_QUESTIONS,
    TEMPLATE_ROOT,
    TOGETHER,
    choices,
    combinations_summary,
    defaults,
    pairwise_variants,
    render_variants,
    variant_id,
    variants,
)

# The answer space once every announced variant is available: 4 routers x 3 loggers x 3 config
# backends x 3 bases x database x cache x worker x example API x tracing = 3,456 combinations.
FUTURE_AXES: dict[str, list[Any]] = {
    "http_framework": ["stdlib", "chi", "gin", "echo"],
    "logger": ["slog", "zap", "zerolog"],
    "config_backend": ["env", "viper", "koanf"],
    "container_base": ["distroless", "scratch", "alpine"],
    "database": ["none", "postgres"],
    "cache": ["none", "redis"],
    "background_worker": [False, True],
    "example_api": [True, False],
    "tracing": ["none", "otel"],
}
FUTURE_DEFAULTS = {name: values[0] for name, values in FUTURE_AXES.items()}


def covered(rows: list[dict[str, Any]], axes: dict[str, list[Any]]) -> float:
    names = list(axes)
    held = set().union(*(pairs_of(row, names) for row in rows))
    return len(held & all_pairs(axes)) / len(all_pairs(axes))


@pytest.mark.parametrize(
    "axes",
    [
        FUTURE_AXES,
        {"a": [1, 2], "b": [1, 2]},
        {"a": [1, 2, 3], "b": ["x"], "c": [True, False]},
        {f"q{i}": list(range(i % 4 + 2)) for i in range(12)},
    ],
    ids=["announced-variants", "two-by-two", "one-valued-axis", "twelve-axes"],
)
def test_every_pair_is_covered(axes: dict[str, list[Any]]) -> None:
    first = {name: values[-1] for name, values in axes.items()}
    rows = pairwise(axes, first)
    assert covered(rows, axes) == 1.0
    assert rows[0] == first, "the defaults come first"
    assert len({tuple(r.items()) for r in rows}) == len(rows), "no combination twice"
    for row in rows:
        assert all(row[name] in values for name, values in axes.items())


def test_far_fewer_rows_than_the_product() -> None:
    rows = pairwise(FUTURE_AXES, FUTURE_DEFAULTS)
    product = math.prod(len(v) for v in FUTURE_AXES.values())
    assert product == 3456
    # At least 4 x 3 rows are needed (the two largest axes); greedy stays close to that.
    assert 12 <= len(rows) <= 20, len(rows)


def test_deterministic() -> None:
    assert pairwise(FUTURE_AXES, FUTURE_DEFAULTS) == pairwise(FUTURE_AXES, FUTURE_DEFAULTS)


def test_a_single_axis_is_its_values() -> None:
    assert pairwise({"a": [1, 2, 3]}, {"a": 2}) == [{"a": 2}, {"a": 1}, {"a": 3}]


def test_every_row_is_needed() -> None:
    """The coverage measure can fail: with any row left out, some pair is lost."""
    rows = pairwise(FUTURE_AXES, FUTURE_DEFAULTS)
    for i in range(len(rows)):
        assert covered(rows[:i] + rows[i + 1 :], FUTURE_AXES) < 1.0, f"row {i} covers nothing new"


@pytest.mark.parametrize(("axis", "value"), [("a", 9), ("b", None)])
def test_a_first_row_outside_the_axes_is_refused(axis: str, value: Any) -> None:
    axes = {"a": [1, 2], "b": ["x", "y"]}
    first = {"a": 1, "b": "x", axis: value}
    with pytest.raises(ValueError, match=axis):
        pairwise(axes, first)


def test_copier_yml_pairwise_set() -> None:
    """The set the build and runtime tests take: the defaults first, only available answers,
    every pair of them covered."""
    rows = pairwise_variants()
    assert rows[0] == {name: defaults()[name] for name in SHAPE_QUESTIONS}
    every = variants()
    assert all(row in every for row in rows)
    axes = {name: [c.value for c in choices(name) if c.available] for name in SHAPE_QUESTIONS}
    assert covered(rows, axes) == 1.0
    together = {tuple(row[name] for name in TOGETHER) for row in rows}
    assert together == set(itertools.product(*(axes[name] for name in TOGETHER)))


def test_render_set() -> None:
    """The render tests' set: the defaults first, every combination of the answers that change Go
    code, each once, and every pair of answers with the others'."""
    rows = render_variants()
    assert rows[0] == {name: defaults()[name] for name in SHAPE_QUESTIONS}
    axes = {name: [c.value for c in choices(name) if c.available] for name in SHAPE_QUESTIONS}
    rest = [name for name in SHAPE_QUESTIONS if name not in IN_TURN]
    combos = [tuple(row[name] for name in rest) for row in rows]
    assert sorted(combos, key=repr) == sorted(itertools.product(*(axes[name] for name in rest)), key=repr)
    assert covered(rows, axes) == 1.0
    every = variants()
    assert all(row in every for row in rows)


def test_summary_names_each_failure_with_its_reproduce_command() -> None:
    known = {variant_id(v): v for v in variants()}
    broken = variant_id(variants()[-1])
    outcomes = {vid: vid != broken for vid in known}
    lines = combinations_summary(outcomes, known)
    assert lines[0] == f"combinations: {len(known)} tried, {len(known) - 1} passed, 1 failed"
    assert lines[1] == f"FAILED combination {broken}"
    command = lines[2].removeprefix("  reproduce: ")
    assert command.startswith("copier copy --vcs-ref HEAD --defaults ")
    for answer in broken.split(","):
        if answer != "defaults":
            assert f"--data {answer}" in command
    assert str(TEMPLATE_ROOT) in command


def test_summary_of_a_green_run() -> None:
    known = {variant_id(v): v for v in variants()}
    lines = combinations_summary(dict.fromkeys(known, True), known)
    assert lines == [f"combinations: {len(known)} tried, {len(known)} passed, 0 failed"]
