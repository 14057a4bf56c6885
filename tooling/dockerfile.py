"""Reading a generated project's Dockerfile: its instructions, its build stage's commands and what
its runtime stage copies from the build stage; and the size each base image adds to the binary."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

# Uncompressed size of each runtime base image, added to the binary for the image size a base implies.
# There is no container engine here, so these are estimates from the images' published sizes.
BASE_IMAGE_BYTES = {
    # gcr.io/distroless/static-debian12:nonroot, about 2 MB as `docker images` lists it.
    "distroless": 2_000_000,
    # An empty image: the binary alone (its CA certificates, time zones and passwd add about 0.6 MB).
    "scratch": 0,
    # alpine:3.22.2, about 8 MB as `docker images` lists it (plus Go's time zone database, 0.4 MB).
    "alpine": 8_000_000,
}


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


def run_command(arguments: str) -> str:
    """A RUN instruction's shell command, without its BuildKit flags (--mount=..., --network=...)."""
    return re.sub(r"^(--\S+\s+)*", "", arguments.strip())


def stages(path: Path) -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions split by stage (each list starts with its FROM)."""
    out: list[list[tuple[str, str]]] = []
    for kind, rest in dockerfile_instructions(path):
        if kind == "FROM":
            out.append([])
        if out:
            out[-1].append((kind, rest))
    return out


def _substituted(project: Path, stamps: dict[str, str], commands: list[str]) -> list[str]:
    args: dict[str, str] = {}
    for kind, rest in dockerfile_instructions(project / "Dockerfile"):
        if kind == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            args[name] = value
    goos, goarch = native_platform(project)
    args.update(TARGETOS=goos, TARGETARCH=goarch, **stamps)

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in args:
            raise DockerfileError(
                f"the Dockerfile's build line uses ${{{match.group(1)}}}, which has no value"
            )
        return args[match.group(1)]

    return [re.sub(r"\$\{(\w+)\}", substitute, command) for command in commands]


def dockerfile_build_command(project: Path, stamps: dict[str, str]) -> str:
    """The Dockerfile's `go build` RUN line with its ARGs substituted for a native build, the build
    stamps (VERSION, COMMIT, DATE) taken from stamps, writing to /out/ as in the image: the caller
    redirects that."""
    steps = dockerfile_instructions(project / "Dockerfile")
    builds = [run_command(rest) for kind, rest in steps if kind == "RUN" and "go build" in rest]
    if len(builds) != 1:
        raise DockerfileError(f"expected one `go build` RUN line in the Dockerfile, found {len(builds)}")
    return _substituted(project, stamps, builds)[0]


def dockerfile_output_commands(project: Path, stamps: dict[str, str]) -> list[str]:
    """Every RUN command of the build stage that writes to /out/ (the binary, and whatever else the
    runtime stage takes from there), substituted as dockerfile_build_command does."""
    build = stages(project / "Dockerfile")[0]
    commands = [run_command(rest) for kind, rest in build if kind == "RUN" and "/out/" in rest]
    return _substituted(project, stamps, commands)


def runtime_copies(project: Path) -> list[tuple[str, str]]:
    """(source in the build stage, destination) of each COPY --from=build of the runtime stage."""
    runtime = stages(project / "Dockerfile")[-1]
    copies: list[tuple[str, str]] = []
    for kind, rest in runtime:
        words = rest.split()
        if kind == "COPY" and words and words[0] == "--from=build":
            if len(words) != 3:
                raise DockerfileError(f"expected COPY --from=build SOURCE DESTINATION: {rest}")
            copies.append((words[1], words[2]))
    return copies


# Where Go's crypto/x509 looks first for the system's CA certificates on Linux (the Debian path, which
# distroless and alpine use too).
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# The user every base runs the service as (distroless's "nonroot").
IMAGE_USER = "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin"

# What each runtime base image brings itself, which its Dockerfile therefore does not copy: path ->
# the content the tests stand in for it (None: the tests only check that it is declared). There is
# no container engine or registry here: this is what the images' own documentation says.
BASE_FILES: dict[str, dict[str, str | None]] = {
    # gcr.io/distroless/static-debian12:nonroot: CA certificates, tzdata, and the user nonroot (65532).
    "distroless": {
        CA_BUNDLE: None,
        "/etc/passwd": f"root:x:0:0:root:/root:/sbin/nologin\n{IMAGE_USER}\n",
        "/etc/group": "root:x:0:\nnonroot:x:65532:\n",
        "/usr/share/zoneinfo": None,
    },
    # alpine: its base image holds the ca-certificates-bundle package (no tzdata, no user 65532).
    "alpine": {CA_BUNDLE: None},
    # scratch: nothing at all.
    "scratch": {},
}


def runtime_env(project: Path) -> dict[str, str]:
    """The ENV NAME=value settings of the runtime stage."""
    env: dict[str, str] = {}
    for kind, rest in stages(project / "Dockerfile")[-1]:
        if kind == "ENV":
            name, _, value = rest.partition("=")
            env[name.strip()] = value.strip()
    return env


# The flags of busybox's addgroup and adduser that take a value (the others, -S -D -H, take none).
_VALUED_FLAGS = {"-g", "-u", "-G", "-h", "-s"}


def _busybox_flags(words: list[str]) -> tuple[dict[str, str], str]:
    """The valued flags (without their dash) and the one operand of an addgroup or adduser command."""
    flags: dict[str, str] = {}
    operands: list[str] = []
    rest = iter(words)
    for word in rest:
        if word in _VALUED_FLAGS:
            flags[word[1:]] = next(rest)
        elif not word.startswith("-"):
            operands.append(word)
    if len(operands) != 1:
        raise DockerfileError(f"expected one name in {' '.join(words)!r}")
    return flags, operands[0]


def users_stage_files(project: Path) -> dict[str, str]:
    """(destination, content) of each COPY --from=users of the runtime stage: the users stage's
    addgroup and adduser commands (busybox's, as alpine has them) carried out on an empty
    /etc/passwd and /etc/group, so that the files hold the users the stage adds."""
    every = stages(project / "Dockerfile")
    users = [stage for stage in every if stage[0][1].endswith(" AS users")]
    copies = [rest.split() for kind, rest in every[-1] if kind == "COPY" and rest.startswith("--from=users ")]
    if not users:
        if copies:
            raise DockerfileError("the runtime stage copies from a users stage the Dockerfile lacks")
        return {}
    files = {"/etc/passwd": "", "/etc/group": ""}
    gids: dict[str, str] = {}
    for kind, rest in users[0]:
        if kind != "RUN":
            continue
        for command in run_command(rest).split("&&"):
            words = shlex.split(command)
            flags, name = _busybox_flags(words[1:])
            if words[0] == "addgroup":
                gids[name] = flags["g"]
                files["/etc/group"] += f"{name}:x:{flags['g']}:\n"
            elif words[0] == "adduser":
                gid = gids[flags["G"]]
                files["/etc/passwd"] += f"{name}:x:{flags['u']}:{gid}:{name}:{flags['h']}:{flags['s']}\n"
            else:
                raise DockerfileError(f"the users stage runs {words[0]}, which this reader cannot carry out")
    out: dict[str, str] = {}
    for words in copies:
        if len(words) != 3 or words[1] not in files:
            raise DockerfileError(f"expected COPY --from=users /etc/passwd|/etc/group DESTINATION: {words}")
        out[words[2]] = files[words[1]]
    return out
