"""Real PostgreSQL and Redis servers for the tests: each on a free loopback port, its files in a
temporary directory, run as `nobody` when the tests run as root (PostgreSQL refuses root).

Both require a password over TCP, so that the tests can check it never leaks. A server can be
stopped and started again on the same port, to take a dependency away from a running service and
give it back, or paused (SIGSTOP) and resumed, to hang it: connections are accepted by the kernel
and never answered. Debian's packages provide the programs (tooling/servers.py finds them; the tests
session of noxfile.py installs them).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from service import free_port
from tooling.servers import (
    SYSTEM_PATH,
    install_hint,
    missing_packages,
    postgres_bin_dir,
    redis_server,
)

# How long a server may take to accept connections after it is started.
START_TIMEOUT = 30.0
# How long a server may take to exit after it is asked to.
STOP_TIMEOUT = 15.0


class ServersMissingError(RuntimeError):
    """The server programs are not installed."""


def require_installed() -> None:
    if missing := missing_packages():
        raise ServersMissingError(
            f"the tests need real PostgreSQL and Redis servers: {' and '.join(missing)} missing. "
            f"The tests session (nox -s tests) installs them; or run `{install_hint(missing)}`"
        )


def _owner() -> tuple[list[str], tuple[int, int] | None]:
    """The command prefix that runs a server as `nobody` when the tests run as root, and that user's
    uid and gid (None when the servers run as the tests' own user)."""
    if os.geteuid() != 0:
        return [], None
    user = pwd.getpwnam("nobody")
    setpriv = shutil.which("setpriv", path=SYSTEM_PATH)
    assert setpriv is not None, "setpriv (util-linux) is needed to run the servers as nobody"
    prefix = [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    return prefix, (user.pw_uid, user.pw_gid)


class Server:
    """A server process on 127.0.0.1:port with its files in a temporary directory."""

    name = "server"

    def __init__(self) -> None:
        require_installed()
        self.prefix, owner = _owner()
        # As root, under /tmp itself, which nobody can search (TMPDIR may be private to root).
        where = "/tmp" if owner is not None else None
        self.directory = Path(tempfile.mkdtemp(prefix=f"test-{self.name}-", dir=where))
        if owner is not None:
            os.chown(self.directory, *owner)
        self.password = f"{self.name}-secret-{secrets.token_hex(8)}"
        self.port = free_port()
        self.log = self.directory.parent / f"{self.directory.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def stop_signal(self) -> signal.Signals:
        return signal.SIGTERM

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start the server (again, on the same port) and wait until it accepts connections."""
        assert not self.running, f"{self.name} is running already"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*self.prefix, *self.command()],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} on port {self.port} did not start:\n{self.log_tail()}")
            time.sleep(0.05)

    def first_start(self) -> None:
        """Start on a free port; another, should something else take the port meanwhile."""
        for attempt in range(3):
            try:
                self.start()
                return
            except RuntimeError:
                if attempt == 2:
                    raise
                self.port = free_port()

    def pause(self) -> None:
        """Hang the server (SIGSTOP): it keeps its port, and the kernel accepts connections to it,
        but nothing is answered until resume()."""
        assert self.proc is not None, f"{self.name} is not started"
        assert self.running, f"{self.name} is not running"
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT)."""
        assert self.proc is not None, f"{self.name} is not started"
        assert self.running, f"{self.name} is not running"
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server, paused or not; connections to its port are refused until it is started
        again."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal())
            # A paused server acts on the signal only once it runs again.
            self.proc.send_signal(signal.SIGCONT)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self) -> None:
        """Stop the server and remove its files."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
        self.log.unlink(missing_ok=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PostgresServer(Server):
    """PostgreSQL with a role `app` that logs in over TCP with a password (SCRAM); each
    new_database() is an empty database owned by it."""

    name = "postgres"
    user = "app"

    def __init__(self) -> None:
        super().__init__()
        bin_dir = postgres_bin_dir()
        assert bin_dir is not None
        self.bin_dir = bin_dir
        self.data = self.directory / "data"
        self.databases = 0
        try:
            self._run_as_owner(
                "initdb", "--pgdata", str(self.data), "--username=postgres", "--encoding=UTF8",
                "--no-locale", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
            )  # fmt: skip
            self.first_start()
            self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")
        except BaseException:
            self.close()
            raise

    def _run_as_owner(self, program: str, *args: str) -> None:
        proc = subprocess.run(
            [*self.prefix, str(self.bin_dir / program), *args],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"{program} failed:\n{proc.stdout}\n{proc.stderr}"

    def command(self) -> list[str]:
        # Only loopback TCP (password) and a socket in the server's own directory (trust, for the
        # superuser's setup). Durability is not wanted from a test server.
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        args = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        return [str(self.bin_dir / "postgres"), "-D", str(self.data), *args]

    def stop_signal(self) -> signal.Signals:
        # Fast shutdown: clients are disconnected at once (SIGTERM would wait for them).
        return signal.SIGINT

    def ready(self) -> bool:
        proc = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-q", "-h", str(self.directory), "-p", str(self.port)],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return proc.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the Unix socket; its output (unaligned, tuples only)."""
        proc = subprocess.run(
            [str(self.bin_dir / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", str(self.directory), "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0, f"psql {sql!r} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def new_database(self) -> str:
        """A fresh, empty database owned by `app`: its postgres:// URL, with the password."""
        self.databases += 1
        name = f"service{self.databases}"
        self.psql(f"CREATE DATABASE {name} OWNER {self.user}")
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgres://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}?sslmode=disable"


class RedisServer(Server):
    """Redis that requires a password; each new_url() names a database index of its own."""

    name = "redis"
    # Database indexes a server offers (one per service started in a test session).
    databases = 1024

    def __init__(self) -> None:
        super().__init__()
        self.used = 0
        try:
            self.first_start()
        except BaseException:
            self.close()
            raise

    def command(self) -> list[str]:
        exe = redis_server()
        assert exe is not None
        return [
            str(exe), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--databases", str(self.databases),
            "--requirepass", self.password,
        ]  # fmt: skip

    def ready(self) -> bool:
        try:
            return self.query("PING") == [b"+OK", b"+PONG"]
        except OSError:
            return False

    def query(self, *commands: str) -> list[bytes]:
        """Send inline commands, after AUTH, and return the answer lines (simple answers only)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall("".join(f"{c}\r\n" for c in (f"AUTH {self.password}", *commands)).encode())
            conn.shutdown(socket.SHUT_WR)
            return b"".join(iter(lambda: conn.recv(4096), b"")).splitlines()

    def keys(self, url: str) -> int:
        """How many keys the database index of url holds."""
        answer = self.query(f"SELECT {url.rsplit('/', 1)[1]}", "DBSIZE")
        assert answer[:2] == [b"+OK", b"+OK"], answer
        return int(answer[2].removeprefix(b":"))

    def flush(self, url: str) -> None:
        """Empty the database index of url."""
        answer = self.query(f"SELECT {url.rsplit('/', 1)[1]}", "FLUSHDB")
        assert answer == [b"+OK", b"+OK", b"+OK"], answer

    def new_url(self) -> str:
        """A redis:// URL, with the password, of a database index nothing else uses."""
        assert self.used < self.databases, "every database index is taken"
        index, self.used = self.used, self.used + 1
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{index}"
