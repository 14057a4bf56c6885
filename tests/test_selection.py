"""`--combination QUESTION=ANSWER,...` selects the tests of the answer combinations that have every
given answer (test ids hold `=`, which `-k` cannot parse); a question or answer copier.yml does not
offer, or a selection no test takes, stops the run with a message naming what is valid."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tooling.variants import SelectionError, pairwise_variants, parse_selection, selected, variant_id

TESTS = Path(__file__).parent


def collect(*args: str) -> subprocess.CompletedProcess[str]:
    """`pytest --collect-only -q` of test_build.py (the pairwise set, as `variant`) and
    test_dependencies.py (its own set, as `combination`), with args."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args),
            *(str(TESTS / "test_build.py"), str(TESTS / "test_dependencies.py")),
        ],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def collected_ids(out: str) -> list[str]:
    return [line for line in out.splitlines() if "::" in line]


def test_selects_every_test_of_the_matching_combinations_and_nothing_else() -> None:
    everything = collected_ids(collect().stdout)
    proc = collect("--combination", "http_framework=gin,logger=zap", "--combination", "cache=redis")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    chosen = collected_ids(proc.stdout)
    # Every combination of the pairwise set with gin and zap, or with Redis, and only those.
    wanted = [
        variant_id(v)
        for v in pairwise_variants()
        if selected(v, [{"http_framework": "gin", "logger": "zap"}, {"cache": "redis"}])
    ]
    assert len(wanted) >= 2
    for vid in wanted:
        assert any(f"[{vid}" in test for test in chosen), f"{vid} not selected"
    for test in chosen:
        # The combination is one of the test's parameters, wherever it stands among them.
        params = re.search(r"\[(.*)\]$", test)
        assert params, test
        assert "http_framework=gin,logger=zap" in params[1] or "cache=redis" in params[1], test
    # The dependency tests take their combinations under another name; they are selected too.
    assert any("test_dependencies.py" in test for test in chosen)
    # Tests that take no combination are left out, and said to be.
    assert not any("test_other_name_and_module_path_build" in test for test in chosen)
    # Fewer tests are made (the build tests take only the matching combinations); the rest are
    # deselected, as -k deselects.
    summary = re.search(r"^(\d+)/(\d+) tests collected \((\d+) deselected\)", proc.stdout, re.MULTILINE)
    assert summary, proc.stdout
    assert int(summary[1]) == len(chosen) < int(summary[2]) <= len(everything)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("http_framework=flask", "http_framework=flask: copier.yml offers stdlib, chi, gin, echo"),
        ("router=gin", "'router' is not a question combinations differ by; valid: http_framework, logger"),
        ("http_framework", "'http_framework' is not QUESTION=ANSWER"),
        ("background_worker=yes", "background_worker=yes: copier.yml offers false, true"),
    ],
)
def test_an_answer_copier_yml_does_not_offer_names_the_valid_ones(given: str, says: str) -> None:
    with pytest.raises(SelectionError) as err:
        parse_selection(given)
    assert says in str(err.value)


def test_a_bad_selection_stops_the_run_naming_the_valid_answers() -> None:
    proc = collect("--combination", "logger=logrus")
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert "--combination: logger=logrus: copier.yml offers slog, zap, zerolog" in proc.stderr


def test_a_selection_no_test_takes_is_an_error_not_an_empty_run() -> None:
    taken = {tuple(sorted(v.items())) for v in pairwise_variants()}
    # A combination of available answers that neither the pairwise set nor test_dependencies takes.
    missing = next(
        answers
        for answers in (
            {"http_framework": f, "logger": lg, "database": "postgres", "cache": "redis"}
            for f in ("echo", "gin", "chi")
            for lg in ("zap", "zerolog")
        )
        if not any(all(dict(t)[k] == v for k, v in answers.items()) for t in taken)
    )
    given = ",".join(f"{k}={v}" for k, v in missing.items())
    proc = collect("--combination", given)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"--combination {given}: no collected test takes such a combination" in proc.stderr


def test_bool_answers_are_written_as_test_ids_write_them() -> None:
    assert parse_selection("background_worker=True,example_api=false") == {
        "background_worker": True,
        "example_api": False,
    }
