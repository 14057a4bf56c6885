"""Releases are a committed list (releases.toml), and tags are made from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git
from tooling.releases import RELEASES, releases, tag_releases


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with two commits."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet")
    for n in (1, 2):
        (repo / "file").write_text(f"{n}\n")
        git(repo, "add", "file")
        git(repo, "commit", "--quiet", "-m", f"commit {n}")
    return repo


def release_list(path: Path, *entries: tuple[str, str]) -> Path:
    path.write_text("".join(f'[[release]]\nversion = "{v}"\ncommit = "{c}"\n\n' for v, c in entries))
    return path


def test_the_committed_list_is_valid() -> None:
    assert [r.version for r in releases(RELEASES)][:2] == ["0.1.0", "0.2.0"]


def test_tags_are_created_from_the_list(repo: Path, tmp_path: Path) -> None:
    first, second = git(repo, "rev-list", "--reverse", "HEAD").split()
    listed = release_list(tmp_path / "releases.toml", ("1.0.0", first), ("1.1.0", second))

    assert tag_releases(repo, listed) == ["1.0.0", "1.1.0"]
    assert git(repo, "rev-parse", "1.0.0^{commit}").strip() == first
    assert git(repo, "rev-parse", "1.1.0^{commit}").strip() == second
    assert tag_releases(repo, listed) == [], "a second run creates nothing"


def test_a_tag_naming_another_commit_is_refused(repo: Path, tmp_path: Path) -> None:
    first, second = git(repo, "rev-list", "--reverse", "HEAD").split()
    git(repo, "tag", "1.0.0", second)
    with pytest.raises(RuntimeError, match=r"tag 1\.0\.0 names"):
        tag_releases(repo, release_list(tmp_path / "releases.toml", ("1.0.0", first)))


def test_a_commit_missing_from_the_clone_is_named(repo: Path, tmp_path: Path) -> None:
    listed = release_list(tmp_path / "releases.toml", ("1.0.0", "0" * 40))
    with pytest.raises(RuntimeError, match=r"commit 0{40} is not in"):
        tag_releases(repo, listed)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ((), "lists no release"),
        ((("v1.0.0", "a" * 40),), "not a normalized PEP 440 version"),
        ((("1.0.0", "abc1234"),), "full 40-character commit"),
        ((("1.1.0", "a" * 40), ("1.0.0", "b" * 40)), "oldest first"),
    ],
)
def test_a_malformed_list_is_an_error(
    entries: tuple[tuple[str, str], ...], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=message):
        releases(release_list(tmp_path / "releases.toml", *entries))
