"""The template's releases, as committed in releases.toml, and the git tags made from them."""

from __future__ import annotations

import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
RELEASES = ROOT / "releases.toml"


@dataclass(frozen=True)
class Release:
    version: str
    commit: str


def releases(path: Path = RELEASES) -> list[Release]:
    """Every release, oldest first. An empty or malformed list is an error, never an empty result."""
    data = tomllib.loads(path.read_text())
    found = [Release(str(r["version"]), str(r["commit"])) for r in data.get("release", [])]
    if not found:
        raise ValueError(f"{path} lists no release")
    for release in found:
        if str(Version(release.version)) != release.version:
            raise ValueError(f"{release.version} is not a normalized PEP 440 version")
        if len(release.commit) != 40:
            raise ValueError(f"{release.version}: give the full 40-character commit, not {release.commit!r}")
    versions = [Version(r.version) for r in found]
    if versions != sorted(set(versions)):
        raise ValueError(f"{path}: versions must be unique and listed oldest first")
    return found


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def tag_releases(repo: Path, path: Path = RELEASES) -> list[str]:
    """Create each release's tag in `repo` (a clone of this repository); return the tags created.
    An existing tag must already name the release's commit."""
    created = []
    for release in releases(path):
        try:
            commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{release.commit}^{{commit}}")
        except RuntimeError:
            raise RuntimeError(
                f"release {release.version}: commit {release.commit} is not in {repo} (a shallow clone?)"
            ) from None
        existing = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{release.version}^{{commit}}"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if existing:
            if existing != commit:
                raise RuntimeError(f"tag {release.version} names {existing}, releases.toml says {commit}")
            continue
        _git(repo, "tag", release.version, commit)
        created.append(release.version)
    return created
