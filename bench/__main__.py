"""`python -m bench [--quick] [--out DIR] [--against REF]`: measure every variant and write the report.

A full run writes docs/performance.md (its generated section) and docs/performance.svg. `--quick` makes
every measurement once, briefly, of the default variant and one other, and writes the report to a
temporary directory unless --out is given: it checks that the harness works, and its numbers mean
nothing. Either fails when a measurement cannot
be made, never because of what it measured. `--against REF` also renders the default variant from the
template's commit REF and loads it in the same rounds as this checkout's, as stack and as sync: the
report then says whether the default variant's throughput changed since REF, on the same machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench import project, report
from bench.measure import Run, Settings, log, measure
from bench.project import ROOT, BenchError

DOCS = ROOT / "docs"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs; report to a temporary directory")
    parser.add_argument("--out", type=Path, help="directory for performance.md and performance.svg")
    parser.add_argument("--keep", action="store_true", help="keep the rendered projects and logs")
    parser.add_argument(
        "--against",
        metavar="REF",
        help="also measure the default variant rendered from this commit, tag or branch",
    )
    args = parser.parse_args(argv)
    settings = Settings.short() if args.quick else Settings.full()
    out: Path = args.out or (Path(tempfile.mkdtemp(prefix="bench-report-")) if args.quick else DOCS)
    out.mkdir(parents=True, exist_ok=True)
    markdown = out / "performance.md"
    if out.resolve() != DOCS.resolve() and (DOCS / "performance.md").exists() and not markdown.exists():
        shutil.copy(DOCS / "performance.md", markdown)

    try:
        against = None if args.against is None else project.resolve_ref(args.against)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-work-"))
    variants = project.bench_variants()
    if args.quick:
        # The default variant, measured in full, and one other, measured as all others are: every path of
        # the harness, in a few minutes. The other is the traced variant, when there is one, whose
        # tracing table is a path of its own.
        variants = variants[:2]
    log(f"variants: {', '.join(v.id for v in variants)}; work directory {work}")
    try:
        run: Run = measure(variants, work, settings, against)
        report.write(run, markdown, out / "performance.svg")
        (work / "results.json").write_text(json.dumps(asdict(run), indent=2, default=str))
    except BenchError as exc:
        log(f"FAILED: {exc}")
        log(f"rendered projects and logs kept in {work}")
        return 1
    if args.keep:
        log(f"rendered projects, logs and results.json kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    log(f"done in {run.seconds / 60:.1f} min; report: {markdown}, chart: {out / 'performance.svg'}")
    missed = report.failures(run)
    for line in missed:
        log(f"target missed: {line}")
    if not missed:
        log("every variant meets every target it was measured against")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
