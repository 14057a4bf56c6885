"""Pairwise covering arrays: few combinations that hold every pair of values of every two axes.

Building, linting and running a combination takes about a minute, so the full product of the
answers (thousands of combinations once every variant lands) is the `matrix` session's job. A
covering array catches what two answers do together, which is how most combination bugs arise,
in a number of combinations that grows with the number of values, not with their product.

The generator is greedy and deterministic (the same axes give the same rows, in the same order):
each new row starts from the first pair not yet covered and takes, axis by axis, the value that
covers the most new pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

Pair = tuple[tuple[str, Hashable], tuple[str, Hashable]]


def pairs_of(row: Mapping[str, Hashable], names: Sequence[str]) -> set[Pair]:
    """Every pair of (axis, value) a row holds, axes in the order of `names`."""
    return {((a, row[a]), (b, row[b])) for a, b in itertools.combinations(names, 2)}


def all_pairs(axes: Mapping[str, Sequence[Hashable]]) -> set[Pair]:
    names = list(axes)
    return {
        ((a, va), (b, vb)) for a, b in itertools.combinations(names, 2) for va in axes[a] for vb in axes[b]
    }


def _new_pairs(
    row: Mapping[str, Any], name: str, value: Any, uncovered: set[Pair], order: Mapping[str, int]
) -> int:
    """How many uncovered pairs setting `name` to `value` in `row` would cover."""
    return sum(
        (((n, v), (name, value)) if order[n] < order[name] else ((name, value), (n, v))) in uncovered
        for n, v in row.items()
    )


def pairwise(axes: Mapping[str, Sequence[Any]], first: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows covering every pair of values of every two axes, starting with `first` (the defaults).

    An axis with one value adds no pairs; with fewer than two axes the rows are the product.
    """
    names = list(axes)
    for name in names:
        if not axes[name]:
            raise ValueError(f"axis {name} has no value")
        if first[name] not in axes[name]:
            raise ValueError(f"the first row's {name}={first[name]!r} is not one of the axis' values")
    rows = [{name: first[name] for name in names}]
    if len(names) < 2:
        rest = (dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values()))
        return rows + [row for row in rest if row != rows[0]]

    uncovered = all_pairs(axes) - pairs_of(rows[0], names)
    order = {name: i for i, name in enumerate(names)}
    while uncovered:
        (a, va), (b, vb) = min(uncovered, key=lambda p: (order[p[0][0]], order[p[1][0]], repr(p)))
        row: dict[str, Any] = {a: va, b: vb}
        for name in names:
            if name not in row:
                # max keeps the first of equally good values
                row[name] = max(axes[name], key=lambda v, n=name: _new_pairs(row, n, v, uncovered, order))
        ordered = {name: row[name] for name in names}
        rows.append(ordered)
        uncovered -= pairs_of(ordered, names)
    return rows
