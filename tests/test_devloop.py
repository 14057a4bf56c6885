"""The targets of a generated project's day-to-day loop, run as a developer runs them: they do not
vary with the answers, so the default project takes them."""

from __future__ import annotations

import os
import re
import shutil
import signal
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Render, go
from service import Launcher, Response, Service, free_port, http_request, poll
from tooling.variants import choices

# How long the first `make watch` may take to serve: air and the service are built first.
FIRST_BUILD_TIMEOUT = 300.0
# How long an edit may take to be answered: a rebuild and a restart.
REBUILD_TIMEOUT = 60.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_project(render: Render) -> Path:
    return render({})


@pytest.fixture(scope="module")
def default_binary(default_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("devloop") / "my-service"
    go(default_project, "build", "-o", str(out), "./cmd/my-service")
    return out


@pytest.fixture
def unlimited_service(default_binary: Path) -> Iterator[Service]:
    """The default service, ready, with rate limiting off, as the README says to load-test it."""
    launcher = Launcher(default_binary)
    yield launcher(RATE_LIMIT_RPS="0")
    problems = list(launcher.stop_all())
    assert not problems, "\n\n".join(problems)


def make_load(project: Path, target: str, rate: int, duration: str) -> str:
    proc = subprocess.run(
        ["make", "load", f"LOAD_TARGET={target}", f"LOAD_RATE={rate}", f"LOAD_DURATION={duration}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
        check=False,
    )
    assert proc.returncode == 0, f"make load failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def report_line(report: str, name: str) -> str:
    """The values of one line of vegeta's text report ("Requests [total, rate, throughput] ...")."""
    match = re.search(rf"^{re.escape(name)}\s+\[[^\]]*\]\s+(.*)$", report, re.MULTILINE)
    assert match is not None, f"no {name!r} line in the report:\n{report}"
    return match.group(1).strip()


def test_make_load_reports_throughput_latencies_and_status_codes(
    default_project: Path, unlimited_service: Service
) -> None:
    before = unlimited_service.metrics().value("http_requests_total", route="/version", code="200")
    target = f"GET http://127.0.0.1:{unlimited_service.http_port}/version"
    report = make_load(default_project, target, rate=100, duration="2s")
    total, _rate, throughput = (v.strip() for v in report_line(report, "Requests").split(","))
    assert int(total) == 200, report
    assert float(throughput) > 0, report
    latencies = report_line(report, "Latencies").split(", ")
    assert len(latencies) == 7, f"min, mean, 50, 90, 95, 99, max: {report}"
    assert report_line(report, "Success") == "100.00%", report
    assert report_line(report, "Status Codes") == "200:200", report
    # Every one of them reached the service.
    after = unlimited_service.metrics().value("http_requests_total", route="/version", code="200")
    assert after - before == 200, f"the service counted {after - before} answers to the load"


def test_make_load_reports_failures(default_project: Path) -> None:
    """Against an address nothing listens on, every request fails, and the report says so."""
    report = make_load(default_project, f"GET http://127.0.0.1:{free_port()}/version", rate=20, duration="1s")
    assert report_line(report, "Success") == "0.00%", report
    assert report_line(report, "Status Codes") == "0:20", report
    assert "connection refused" in report, report


def answer(port: int, path: str) -> Response | None:
    try:
        return http_request(port, "GET", path, timeout=2.0)
    except OSError:
        return None


def test_make_watch_answers_an_edit_within_seconds_and_stops_cleanly(
    default_project: Path, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    copy = Path(shutil.copytree(default_project, tmp_path / default_project.name, symlinks=True))
    port = free_port()
    env = {**os.environ, "HTTP_ADDR": f"127.0.0.1:{port}", "ADMIN_ADDR": f"127.0.0.1:{free_port()}"}
    log = tmp_path / "watch.log"
    with log.open("w") as out:
        # Its own process group, which a Ctrl-C in a terminal signals as a whole.
        watch = subprocess.Popen(
            ["make", "watch"], cwd=copy, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        first = poll(lambda: answer(port, "/version"), timeout=FIRST_BUILD_TIMEOUT, what="make watch serving")
        assert first.header("X-Edited") is None
        handler = copy / "internal" / "server" / "version.go"
        write = "web.WriteJSON(w, http.StatusOK, info)"
        source = handler.read_text()
        assert write in source, "version.go changed: update the edit this test makes"
        handler.write_text(source.replace(write, f'w.Header().Set("X-Edited", "yes")\n\t\t{write}'))
        edited = time.monotonic()

        def edited_answer() -> Response | None:
            resp = answer(port, "/version")
            return resp if resp is not None and resp.header("X-Edited") == "yes" else None

        try:
            poll(edited_answer, timeout=REBUILD_TIMEOUT, interval=0.1, what="the edited handler's answer")
        except pytest.fail.Exception:
            pytest.fail(f"no edited answer within {REBUILD_TIMEOUT}s; make watch wrote:\n{log.read_text()}")
        record_property("seconds_from_edit_to_answer", round(time.monotonic() - edited, 2))
    finally:
        os.killpg(watch.pid, signal.SIGINT)
        watch.wait(timeout=30)
    output = log.read_text()
    assert "shutdown complete" in output, f"the service did not shut down gracefully:\n{output}"
    assert answer(port, "/version") is None, "the service still answers after make watch stopped"


def git_in(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=300, check=False)


def test_make_hooks_refuses_commits_that_fail_the_checks(default_project: Path, tmp_path: Path) -> None:
    """After `make hooks`, a commit of an unformatted file, of a conflict left by an update, or of
    code the linter flags is refused with the reason; a clean change is committed."""
    repo = Path(shutil.copytree(default_project, tmp_path / default_project.name, symlinks=True))
    for args in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "generated"]):
        assert git_in(repo, *args).returncode == 0
    hooks = subprocess.run(["make", "hooks"], cwd=repo, capture_output=True, text=True, check=False)
    assert hooks.returncode == 0, hooks.stdout + hooks.stderr

    def commit(path: str, content: str) -> subprocess.CompletedProcess[str]:
        (repo / path).write_text(content)
        assert git_in(repo, "add", path).returncode == 0
        return git_in(repo, "commit", "--quiet", "-m", f"change {path}")

    refusals = [
        ("internal/server/extra.go", "package server\nfunc  extra() {}\n", "not gofmt-clean"),
        (
            "README.md",
            "<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\n",
            "conflicts",
        ),
        ("internal/server/extra.go", "package server\n\nfunc extra() {}\n", "func extra is unused"),
    ]
    for path, content, reason in refusals:
        proc = commit(path, content)
        output = proc.stdout + proc.stderr
        assert proc.returncode != 0, f"a commit of {path} with {content!r} was made"
        assert reason in output, f"{path}: the refusal does not say {reason!r}:\n{output}"
        assert git_in(repo, "reset", "--quiet", "--hard").returncode == 0
        assert not (repo / "internal/server/extra.go").exists()
    version = (repo / "internal/server/version.go").read_text()
    clean = commit(
        "internal/server/version.go", version.replace("// handleVersion answers", "// handleVersion serves")
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr


# What each binary of `make release` must be, read from its header: (format, machine), where the
# machine is ELF's e_machine or Mach-O's cputype.
RELEASE_BINARIES = {
    ("linux", "amd64"): ("ELF", 0x3E),
    ("linux", "arm64"): ("ELF", 0xB7),
    ("darwin", "amd64"): ("Mach-O", 0x01000007),
    ("darwin", "arm64"): ("Mach-O", 0x0100000C),
}


def executable_header(path: Path) -> tuple[str, int]:
    """The format and machine of a 64-bit little-endian executable, from its first bytes."""
    head = path.read_bytes()[:20]
    if head[:4] == b"\x7fELF":
        (machine,) = struct.unpack_from("<H", head, 18)
        return "ELF", machine
    if head[:4] == struct.pack("<I", 0xFEEDFACF):
        (cputype,) = struct.unpack_from("<I", head, 4)
        return "Mach-O", cputype
    return "unknown", 0


def build_settings(binary: Path) -> dict[str, str]:
    """The `build` lines of `go version -m`: GOOS, GOARCH, CGO_ENABLED, -trimpath..."""
    out = go(binary.parent, "version", "-m", str(binary))
    settings = {}
    for line in out.splitlines():
        fields = line.strip().split("\t")
        if fields[0] == "build" and len(fields) == 2:
            key, _, value = fields[1].partition("=")
            settings[key] = value
    return settings


def test_make_release_builds_each_platform_with_checksums(default_project: Path, tmp_path: Path) -> None:
    repo = Path(shutil.copytree(default_project, tmp_path / default_project.name, symlinks=True))
    for args in (
        ["init", "--quiet"],
        ["add", "--all"],
        ["commit", "--quiet", "-m", "generated"],
        ["tag", "v1.2.3"],
    ):
        assert git_in(repo, *args).returncode == 0
    proc = subprocess.run(
        ["make", "release"], cwd=repo, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    dist = repo / "dist"
    names = {f"my-service-{goos}-{goarch}" for goos, goarch in RELEASE_BINARIES}
    assert {p.name for p in dist.iterdir()} == names | {"SHA256SUMS"}
    for (goos, goarch), header in RELEASE_BINARIES.items():
        binary = dist / f"my-service-{goos}-{goarch}"
        assert executable_header(binary) == header, binary.name
        settings = build_settings(binary)
        assert (settings["GOOS"], settings["GOARCH"]) == (goos, goarch), binary.name
        assert settings["CGO_ENABLED"] == "0", binary.name
        assert settings["-trimpath"] == "true", binary.name
    # The binary for this machine carries make build's version information.
    host = dist / f"my-service-linux-{go(repo, 'env', 'GOARCH').strip()}"
    version = subprocess.run([str(host), "version"], capture_output=True, text=True, check=False)
    assert version.stdout.startswith("my-service v1.2.3 (commit "), version.stdout + version.stderr
    sums = (dist / "SHA256SUMS").read_text().splitlines()
    assert sorted(line.split("  ", 1)[1] for line in sums) == sorted(names)
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=dist, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 4, check.stdout
    # A binary changed after the fact fails the check.
    with (dist / "my-service-darwin-arm64").open("ab") as f:
        f.write(b"\0")
    tampered = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=dist, capture_output=True, text=True, check=False
    )
    assert tampered.returncode != 0
    assert "my-service-darwin-arm64: FAILED" in tampered.stdout


@pytest.mark.parametrize("ci", [c.value for c in choices("ci") if c.available])
def test_every_make_target_the_readme_names_exists(render: Render, ci: str) -> None:
    project = render({"ci": ci, "database": "postgres"})
    # A command: in a code span (`make x`) or at the start of a line of a code block.
    command = r"(?:`|^)make (?:-\S+ )*([a-z][a-z0-9-]*)"
    named = set(re.findall(command, (project / "README.md").read_text(), re.M))
    assert {"hooks", "watch", "test", "load", "release", "tools"} <= named
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", (project / "Makefile").read_text(), re.M))
    assert named - targets == set()
