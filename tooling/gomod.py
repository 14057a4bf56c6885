"""go.mod and go.sum for every variant, from gomod/modules.toml (`nox -s gomod`).

Every variant's go.mod and go.sum must be exactly what `go mod tidy` leaves, and
they differ by answer. This resolves every module the template can need together
(Go's minimal version selection over all of them at once), so that a module has
one version whatever the answers. It then renders every combination of the
answers modules.toml names (the other answers at their defaults), requires every
resolved module at its resolved version and lets `go mod tidy` keep what that
combination needs. Which lines a combination keeps is not always the union of
its answers' lines (an indirect requirement one answer needs can be implied by
another's modules), so gomod/lock.json records each line with the fewest
conjunctions of answers that say exactly where it belongs, and the tidy tests
check every combination.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import warnings
from pathlib import Path
from typing import Any

from tooling import variants

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "gomod" / "modules.toml"
LOCK = ROOT / "gomod" / "lock.json"
ALWAYS = "always"


def answer_sets() -> dict[str, dict[str, str]]:
    """modules.toml: the direct modules (path -> version) of each answer."""
    return tomllib.loads(MODULES.read_text())


def answers_of(combo: tuple[str, ...]) -> dict[str, Any]:
    """The answers that render a combination of answer sets: the defaults, with its answers."""
    answers = variants.defaults()
    for name in combo:
        if name == ALWAYS:
            continue
        question, _, value = name.partition("=")
        for choice in variants.choices(question):
            if str(choice.value).lower() == value.lower():
                if not choice.available:
                    sys.exit(f"{name}: {choice.refusal} (copier.yml); make it available first")
                answers[question] = choice.value
                break
        else:
            sys.exit(f"{name}: copier.yml has no such answer")
    return answers


def combinations(sets: dict[str, dict[str, str]]) -> list[tuple[str, ...]]:
    """Every combination of one answer per question modules.toml names, with its answers that
    bring no modules among them (its default, or every other answer where the default brings
    some), so that a line can belong to an answer without modules."""
    defaults = variants.defaults()
    by_question: dict[str, list[str]] = {}
    for name in sets:
        if name != ALWAYS:
            question = name.partition("=")[0]
            if question not in by_question:
                default = f"{question}={str(defaults[question]).lower()}"
                answers = [f"{question}={str(c.value).lower()}" for c in variants.choices(question)]
                without = [a for a in answers if a not in sets]
                by_question[question] = [default] if default not in sets else without
            by_question[question].append(name)
    return [(ALWAYS, *combo) for combo in itertools.product(*by_question.values())]


def _go(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    proc = subprocess.run(["go", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"go {' '.join(args)} in {cwd}:\n{proc.stderr}")
    return proc.stdout


def _go_mod(module: str, go_version: str, requires: dict[str, str]) -> str:
    lines = "".join(f"\t{path} {version}\n" for path, version in sorted(requires.items()))
    return f"module {module}\n\ngo {go_version}.0\n\nrequire (\n{lines})\n"


def resolve(sets: dict[str, dict[str, str]], go_version: str, scratch: Path) -> dict[str, str]:
    """The version of every module in the build list of all answers' modules together."""
    every: dict[str, str] = {}
    for modules in sets.values():
        every.update(modules)
    universe = scratch / "universe"
    universe.mkdir()
    (universe / "go.mod").write_text(_go_mod("universe", go_version, every))
    listed = _go(universe, "list", "-m", "-f", "{{.Path}} {{.Version}}", "all").splitlines()
    return dict(line.split() for line in listed[1:])  # the first is the main module


def tidy_variant(
    combo: tuple[str, ...], resolved: dict[str, str], scratch: Path
) -> tuple[dict[str, tuple[str, bool]], list[str]]:
    """What `go mod tidy` keeps for a combination with every module at its resolved version:
    {module path: (version, direct?)} and the go.sum lines. Tidy may raise a version above the
    resolved one, or add a module the resolution did not list: the resolution reads a pruned
    module graph, and the packages a variant imports can reach past it."""
    import copier  # the template's own dependency, imported only when rendering

    warnings.filterwarnings("ignore", category=copier.errors.DirtyLocalWarning)
    answers = answers_of(combo)
    dst = scratch / re.sub(r"[^a-z0-9]+", "-", "-".join(combo).lower())
    copier.run_copy(str(ROOT), dst, data=answers, defaults=True, vcs_ref="HEAD", quiet=True)
    (dst / "go.sum").unlink(missing_ok=True)
    (dst / "go.mod").write_text(_go_mod(answers["module_path"], answers["go_version"], resolved))
    _go(dst, "mod", "tidy")
    mod = json.loads(_go(dst, "mod", "edit", "-json"))
    requires = {r["Path"]: (r["Version"], not r.get("Indirect", False)) for r in mod.get("Require") or []}
    return requires, (dst / "go.sum").read_text().splitlines()


def conditions(present: set[tuple[str, ...]], combos: list[tuple[str, ...]]) -> list[list[str]]:
    """The fewest and shortest conjunctions of answer sets that hold in exactly the combinations
    in `present`: a line belongs to a combination when all the sets of one of them are chosen."""
    names = sorted({name for combo in combos for name in combo} - {ALWAYS})
    terms: list[list[str]] = []
    covered: set[tuple[str, ...]] = set()
    for size in range(len(names) + 1):
        for term in itertools.combinations(names, size):
            matching = {combo for combo in combos if set(term) <= set(combo)}
            if matching and matching <= present and not matching <= covered:
                terms.append(list(term) or [ALWAYS])
                covered |= matching
        if covered == present:
            return terms
    raise AssertionError(f"no conditions for {sorted(present)}")


def _semver_key(version: str) -> tuple[Any, ...]:
    """Go's semantic-version order (golang.org/x/mod/semver) as a sort key."""
    core, _, build = version.removeprefix("v").partition("+")
    del build  # build metadata (+incompatible) does not order versions
    release, dash, pre = core.partition("-")
    numbers = tuple(int(n) for n in release.split("."))
    if not dash:
        return (numbers, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (numbers, 0, ids)


def sum_key(line: str) -> tuple[Any, ...]:
    """go.sum's order: by module path, then version, a version's go.mod hash after its tree's."""
    path, version, _hash = line.split(" ")
    version, gomod, _ = version.partition("/go.mod")
    return (path, _semver_key(version), bool(gomod))


def lock(combos: list[tuple[str, ...]], tidied: dict[tuple[str, ...], Any]) -> str:
    require: dict[str, dict[str, set[tuple[str, ...]]]] = {}
    versions: dict[str, str] = {}
    sums: dict[str, set[tuple[str, ...]]] = {}
    for combo in combos:
        requires, lines = tidied[combo]
        for path, (version, direct) in requires.items():
            if versions.setdefault(path, version) != version:
                sys.exit(f"{path}: combinations tidy to {versions[path]} and {version}; pin it in {MODULES}")
            entry = require.setdefault(path, {"sets": set(), "direct": set()})
            entry["sets"].add(combo)
            if direct:
                entry["direct"].add(combo)
        for line in lines:
            sums.setdefault(line, set()).add(combo)
    # JSON, one entry a line: Jinja parses it in C (`from_json`) where YAML took a quarter of a
    # render, and each change of the lock stays a one-line diff.
    out = [
        "{",
        '"comment": "Generated by `nox -s gomod` from gomod/modules.toml; do not edit. Each go.mod '
        "requirement and go.sum line, with where it belongs: in a combination of answers that holds "
        "every answer set of one of the lists under when (under direct: where the project imports it "
        'directly).",',
        '"require": [',
    ]
    entries = []
    for path in sorted(require):
        when, direct = require[path]["sets"], require[path]["direct"]
        entry = {
            "path": path,
            "version": versions[path],
            "when": conditions(when, combos),
            "direct": conditions(direct, combos) if direct else [],
        }
        entries.append(json.dumps(entry))
    out.append(",\n".join(entries))
    out.append('],\n"sum": [')
    ordered = sorted(sums, key=sum_key)
    lines = [json.dumps({"line": line, "when": conditions(sums[line], combos)}) for line in ordered]
    out.append(",\n".join(lines))
    out.append("]\n}")
    return "\n".join(out) + "\n"


def main() -> None:
    sets = answer_sets()
    if ALWAYS not in sets:
        sys.exit(f"{MODULES}: the [{ALWAYS}] set is missing")
    go_version = variants.defaults()["go_version"]
    with tempfile.TemporaryDirectory(prefix="gomod-") as tmp:
        scratch = Path(tmp)
        resolved = resolve(sets, go_version, scratch)
        raised = [
            f"{path} {version} -> {resolved[path]}"
            for modules in sets.values()
            for path, version in modules.items()
            if resolved[path] != version
        ]
        if raised:
            sys.exit(f"{MODULES}: other modules require newer versions; pin these: {', '.join(raised)}")
        combos = combinations(sets)
        tidied = {combo: tidy_variant(combo, resolved, scratch) for combo in combos}
    LOCK.write_text(lock(combos, tidied))
    print(f"wrote {LOCK.relative_to(ROOT)}: {len(combos)} combinations, {len(resolved)} modules")


if __name__ == "__main__":
    main()
