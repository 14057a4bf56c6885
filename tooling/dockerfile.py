"""Reading a generated project's Dockerfile: its instructions and its `go build` line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


class DockerfileError(ValueError):
    """The Dockerfile does not have the shape the reader expects."""


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    pairs: list[tuple[str, str]] = []
    for text in logical:
        kind, _, rest = text.strip().partition(" ")
        pairs.append((kind.upper(), rest.strip()))
    return pairs


def native_platform(project: Path) -> tuple[str, str]:
    """GOOS and GOARCH of this machine, as `docker buildx` passes them on a native build."""
    out = subprocess.run(
        ["go", "env", "GOOS", "GOARCH"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], out[1]


def dockerfile_build_command(project: Path, stamps: dict[str, str]) -> str:
    """The Dockerfile's `go build` RUN line with its ARGs substituted for a native build, the build
    stamps (VERSION, COMMIT, DATE) taken from stamps, writing to /out/ as in the image: the caller
    redirects that."""
    steps = dockerfile_instructions(project / "Dockerfile")
    args: dict[str, str] = {}
    for kind, rest in steps:
        if kind == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            args[name] = value
    goos, goarch = native_platform(project)
    args.update(TARGETOS=goos, TARGETARCH=goarch, **stamps)
    builds = [rest for kind, rest in steps if kind == "RUN" and "go build" in rest]
    if len(builds) != 1:
        raise DockerfileError(f"expected one `go build` RUN line in the Dockerfile, found {len(builds)}")

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in args:
            raise DockerfileError(
                f"the Dockerfile's build line uses ${{{match.group(1)}}}, which has no value"
            )
        return args[match.group(1)]

    return re.sub(r"\$\{(\w+)\}", substitute, builds[0])
