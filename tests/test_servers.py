"""The test servers: found where Debian installs them, installed when missing (or the reason why
not), and real: a password is required, a stopped server refuses connections, a restarted one
serves again on the same port."""

from __future__ import annotations

import os
import pwd
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from servers import PostgresServer, RedisServer
from tooling.servers import (
    POSTGRES_PROGRAMS,
    CannotInstallError,
    install_commands,
    install_hint,
    missing_packages,
    postgres_bin_dir,
)


def fake_postgres(root: Path, version: str, programs: tuple[str, ...] = POSTGRES_PROGRAMS) -> Path:
    bin_dir = root / version / "bin"
    bin_dir.mkdir(parents=True)
    for name in programs:
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(stat.S_IRWXU)
    return bin_dir


def fake_programs(path: Path, *names: str) -> str:
    path.mkdir()
    for name in names:
        (path / name).write_text("#!/bin/sh\n")
        (path / name).chmod(stat.S_IRWXU)
    return str(path)


def fake_redis(path: Path) -> str:
    """redis-server, chromium, prometheus and promtool on PATH."""
    return fake_programs(path, "redis-server", "chromium", "prometheus", "promtool")


def test_nothing_installed_means_every_package(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert missing_packages(tmp_path / "absent", str(tmp_path / "empty")) == [
        "postgresql",
        "redis-server",
        "chromium",
        "prometheus",
    ]


def test_a_missing_browser_is_a_missing_package(tmp_path: Path) -> None:
    fake_postgres(tmp_path, "15")
    on_path = fake_programs(tmp_path / "bin", "redis-server", "prometheus", "promtool")
    assert missing_packages(tmp_path, on_path) == ["chromium"]


def test_prometheus_without_promtool_is_a_missing_package(tmp_path: Path) -> None:
    fake_postgres(tmp_path, "15")
    on_path = fake_programs(tmp_path / "bin", "redis-server", "chromium", "prometheus")
    assert missing_packages(tmp_path, on_path) == ["prometheus"]


def test_the_newest_complete_postgres_is_taken(tmp_path: Path) -> None:
    fake_postgres(tmp_path, "15")
    newest = fake_postgres(tmp_path, "16")
    fake_postgres(tmp_path, "17", programs=("initdb",))  # an incomplete installation
    assert postgres_bin_dir(tmp_path) == newest
    redis = fake_redis(tmp_path / "bin")
    assert missing_packages(tmp_path, redis) == []


def test_a_postgres_without_its_server_program_is_missing(tmp_path: Path) -> None:
    fake_postgres(tmp_path, "15", programs=("psql",))  # the client package alone
    assert missing_packages(tmp_path, fake_redis(tmp_path / "bin")) == ["postgresql"]


def test_this_machine_has_every_package() -> None:
    """The tests session installs them before the tests run (noxfile.py)."""
    missing = missing_packages()
    assert not missing, f"missing: {missing}; `nox -s tests` installs them, or `{install_hint(missing)}`"


def test_installed_as_root_or_with_sudo() -> None:
    assert install_commands([], apt_get=True, root=False, sudo_without_password=False) == []
    as_root = install_commands(["redis-server"], apt_get=True, root=True, sudo_without_password=False)
    assert as_root[0] == ["apt-get", "update", "-qq"]
    assert as_root[-1][0] == "env"
    assert as_root[-1][-1] == "redis-server"
    assert "-y" in as_root[-1], "no question may wait for an answer (CI has no stdin)"
    with_sudo = install_commands(["postgresql"], apt_get=True, root=False, sudo_without_password=True)
    assert all(command[:2] == ["sudo", "-n"] for command in with_sudo)


@pytest.mark.parametrize(("apt_get", "says"), [(True, "sudo apt-get install postgresql"), (False, "install")])
def test_who_cannot_install_is_told_what_to_install(apt_get: bool, says: str) -> None:
    with pytest.raises(CannotInstallError, match=says) as err:
        install_commands(
            ["postgresql", "redis-server"], apt_get=apt_get, root=False, sudo_without_password=False
        )
    assert "postgresql and redis-server" in str(err.value)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def psql(server: PostgresServer, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(server.bin_dir / "psql"), "-X", "-A", "-t", url, "-c", "SELECT current_user"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
    )


def test_postgres_needs_the_password_and_restarts_on_its_port(own_postgres: PostgresServer) -> None:
    first, second = own_postgres.new_database(), own_postgres.new_database()
    assert first != second, "each service gets a database of its own"
    assert own_postgres.password in first
    answer = psql(own_postgres, first)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "app"
    wrong = psql(own_postgres, first.replace(own_postgres.password, "wrong"))
    assert wrong.returncode != 0
    assert "password authentication failed" in wrong.stderr, wrong.stderr
    own_postgres.stop()
    assert refused(own_postgres.port)
    own_postgres.start()
    assert psql(own_postgres, first).returncode == 0


def redis_answer(port: int, *commands: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall("".join(f"{c}\r\n" for c in commands).encode())
        conn.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: conn.recv(4096), b""))


def test_redis_needs_the_password_and_restarts_on_its_port(own_redis: RedisServer) -> None:
    first, second = own_redis.new_url(), own_redis.new_url()
    assert first.endswith("/0"), first
    assert second.endswith("/1"), second
    assert own_redis.password in first
    assert redis_answer(own_redis.port, "PING").startswith(b"-NOAUTH")
    assert redis_answer(own_redis.port, f"AUTH {own_redis.password}", "PING") == b"+OK\r\n+PONG\r\n"
    own_redis.stop()
    assert refused(own_redis.port)
    own_redis.start()
    assert own_redis.ready()


def test_redis_paused_hangs_and_resumes(own_redis: RedisServer) -> None:
    """A paused server accepts connections and answers nothing; resumed, it answers; stopped while
    paused, it exits."""
    own_redis.pause()
    with socket.create_connection(("127.0.0.1", own_redis.port), timeout=5) as conn:
        conn.sendall(b"PING\r\n")
        conn.settimeout(0.5)
        with pytest.raises(TimeoutError):
            conn.recv(64)
    own_redis.resume()
    assert own_redis.ready()
    own_redis.pause()
    own_redis.stop()
    assert refused(own_redis.port)
    own_redis.start()
    assert own_redis.ready()


def test_servers_run_unprivileged(own_postgres: PostgresServer, own_redis: RedisServer) -> None:
    """As nobody when the tests run as root (PostgreSQL refuses root), else as the tests' user."""
    expected = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
    for server in (own_postgres, own_redis):
        assert server.proc is not None
        status = Path(f"/proc/{server.proc.pid}/status").read_text()
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        assert uids == [str(expected)] * 4, f"{server.name} runs as {uids}"


def test_closing_removes_the_files() -> None:
    with PostgresServer() as pg:
        directory, log = pg.directory, pg.log
        assert directory.is_dir()
    assert not directory.exists()
    assert not log.exists()
    assert not pg.running
