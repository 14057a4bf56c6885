"""The README's Quick start: the two commands a new user runs, read from README.md itself.

`python3 tooling/quickstart.py --test-command` prints the second one; CI runs it from there,
so that what the README tells users is what CI proves.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


@dataclass(frozen=True)
class QuickStart:
    generate: str  # generates a service from the clone
    test: str  # runs the template's whole test suite


def read(readme: Path = README) -> QuickStart:
    """The commands of the first ```sh block under the "## Quick start" heading."""
    text = readme.read_text()
    section = re.search(r"^## Quick start\n(.*?)(?=^## )", text, re.M | re.S)
    if section is None:
        raise ValueError(f"{readme} has no '## Quick start' section")
    block = re.search(r"^```sh\n(.*?)^```", section.group(1), re.M | re.S)
    if block is None:
        raise ValueError(f"the Quick start of {readme} has no ```sh block")
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    if len(commands) != 2:
        raise ValueError(f"the Quick start should be two commands, found {len(commands)}: {commands}")
    return QuickStart(*commands)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--generate-command", action="store_true", help="print the first command")
    which.add_argument("--test-command", action="store_true", help="print the second command")
    args = parser.parse_args()
    quick = read()
    print(quick.generate if args.generate_command else quick.test)


if __name__ == "__main__":
    main()
