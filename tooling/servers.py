"""Where the database and cache servers the tests start, the browser that opens the
documentation site, and Prometheus with its promtool, which check the generated alert rules and
dashboard, are installed, and which Debian packages are missing. The tests session (noxfile.py)
installs the missing ones; tests/servers.py runs the servers, tests/test_site.py the browser,
tests/test_observability.py Prometheus.

Debian installs PostgreSQL's server programs outside PATH, in /usr/lib/postgresql/<major>/bin
(PATH holds only wrappers for the clients), Redis's server as /usr/bin/redis-server and Chromium as
/usr/bin/chromium, Prometheus's as /usr/bin/prometheus and /usr/bin/promtool.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

POSTGRES_ROOT = Path("/usr/lib/postgresql")
# The programs tests/servers.py runs from PostgreSQL's bin directory.
POSTGRES_PROGRAMS = ("initdb", "postgres", "pg_isready", "psql")
POSTGRES_PACKAGE = "postgresql"
REDIS_PACKAGE = "redis-server"
BROWSER_PACKAGE = "chromium"
PROMETHEUS_PACKAGE = "prometheus"
# The programs of the prometheus package the tests run.
PROMETHEUS_PROGRAMS = ("prometheus", "promtool")
# Searched after PATH: where Debian puts redis-server, chromium and prometheus, whatever PATH a
# developer has.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def postgres_bin_dir(root: Path = POSTGRES_ROOT) -> Path | None:
    """The bin directory of the newest PostgreSQL major version that has every program needed."""
    found: list[tuple[int, Path]] = []
    if root.is_dir():
        for version in root.iterdir():
            bin_dir = version / "bin"
            if version.name.isdigit() and all(os.access(bin_dir / p, os.X_OK) for p in POSTGRES_PROGRAMS):
                found.append((int(version.name), bin_dir))
    return max(found)[1] if found else None


def _program(name: str, path: str | None) -> Path | None:
    """A program on PATH or where Debian puts it."""
    if path is None:
        path = os.pathsep.join(filter(None, [os.environ.get("PATH"), SYSTEM_PATH]))
    exe = shutil.which(name, path=path)
    return None if exe is None else Path(exe)


def redis_server(path: str | None = None) -> Path | None:
    """The redis-server program, on PATH or where Debian puts it."""
    return _program("redis-server", path)


def chromium(path: str | None = None) -> Path | None:
    """Debian's Chromium, on PATH or where Debian puts it."""
    return _program("chromium", path)


def prometheus_program(name: str, path: str | None = None) -> Path | None:
    """Debian's prometheus or promtool, on PATH or where Debian puts them."""
    return _program(name, path)


def missing_packages(root: Path = POSTGRES_ROOT, path: str | None = None) -> list[str]:
    """The Debian packages of the servers, the browser and Prometheus that are not installed."""
    missing = [] if postgres_bin_dir(root) else [POSTGRES_PACKAGE]
    missing += [] if redis_server(path) else [REDIS_PACKAGE]
    missing += [] if chromium(path) else [BROWSER_PACKAGE]
    has_prometheus = all(prometheus_program(name, path) for name in PROMETHEUS_PROGRAMS)
    return missing if has_prometheus else [*missing, PROMETHEUS_PACKAGE]


def install_hint(packages: list[str]) -> str:
    return f"sudo apt-get install {' '.join(packages)}"


class CannotInstallError(RuntimeError):
    """The packages are missing and this user cannot install them."""


def install_commands(
    packages: list[str], *, apt_get: bool, root: bool, sudo_without_password: bool
) -> list[list[str]]:
    """The apt-get commands that install the packages: as root, else with `sudo -n` when it needs
    no password; neither (or no apt-get) raises CannotInstallError saying what to install."""
    if not packages:
        return []
    if not apt_get:
        raise CannotInstallError(
            f"the tests run real PostgreSQL, Redis and Prometheus servers and a real browser: install "
            f"{' and '.join(packages)} (PostgreSQL 15 or newer, Redis 7, Chromium, Prometheus 2.42 or "
            f"newer; the tests look for Debian's paths, {POSTGRES_ROOT}/<version>/bin, and "
            f"redis-server, chromium, prometheus and promtool on PATH)"
        )
    if root:
        prefix = []
    elif sudo_without_password:
        prefix = ["sudo", "-n"]
    else:
        raise CannotInstallError(
            f"the tests run real PostgreSQL, Redis and Prometheus servers and a real browser: Debian's "
            f"{' and '.join(packages)} "
            f"{'is' if len(packages) == 1 else 'are'} missing, and installing needs root: "
            f"run `{install_hint(packages)}`, then the tests again"
        )
    return [
        [*prefix, "apt-get", "update", "-qq"],
        [
            *prefix,
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            *packages,
        ],
    ]
