"""Container and deployment files, checked without a container engine or a cluster: the Dockerfile
of every base passes hadolint and its build stage's commands, run natively, give a static,
stripped, version-stamped binary, which runs as the image runs it (uid 65532, read-only root, no
home) and answers the contract's probes; the Compose file loads with Docker Compose's own loader;
every Kubernetes overlay, rendered by kustomize, validates strictly against the schemas of the
three newest Kubernetes versions kubernetes-validate knows and meets the restricted Pod Security
Standard; its shutdown budget is derived from the binary's own defaults. The CI files are checked
in test_ci."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from elftools.elf.elffile import ELFFile
from kubernetes_validate.utils import all_versions

from conftest import answers_of, go
from service import Service, clean_env, http_request
from tooling.dockerfile import (
    BASE_FILES,
    BASE_IMAGE_BYTES,
    CA_BUNDLE,
    dockerfile_build_command,
    dockerfile_instructions,
    dockerfile_output_commands,
    runtime_copies,
    runtime_env,
    stages,
    users_stage_files,
)
from tooling.pins import KUSTOMIZE, go_tool_pins

pytestmark = pytest.mark.slow

TOOLS = Path(__file__).parent / "tools"
BIN = Path(sys.executable).parent
# The user every base runs the service as (distroless's "nonroot").
IMAGE_UID = 65532
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


def base_of(project: Path) -> str:
    base: str = answers_of(project)["container_base"]
    return base


# -- Dockerfile -------------------------------------------------------------------------------------


def test_hadolint_clean(project: Path) -> None:
    proc = subprocess.run(
        [str(BIN / "hadolint"), "Dockerfile"], cwd=project, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:latest\nRUN apk add curl\nUSER root\n")
    proc = subprocess.run(
        [str(BIN / "hadolint"), "Dockerfile"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    assert "DL3007" in proc.stdout, proc.stdout  # the latest tag


def test_dockerfile_shape(project: Path) -> None:
    answers = answers_of(project)
    every = stages(project / "Dockerfile")
    build, runtime = every[0], every[-1]
    steps = dockerfile_instructions(project / "Dockerfile")
    # The builder is the chosen Go version; every base is an exact tag, never `latest` or none.
    assert f"golang:{answers['go_version']}-" in build[0][1]
    for _, args in (build[0], runtime[0]):
        image = next(word for word in args.split() if not word.startswith("--"))
        if image != "scratch":
            assert ":" in image.split("/")[-1], f"{image}: no tag"
            assert not image.endswith(":latest"), image
    # Module download is its own cached layer: go.mod/go.sum are copied and downloaded first, with
    # BuildKit cache mounts for the module and build caches.
    kinds = [k for k, _ in build]
    copies = [args for k, args in build if k == "COPY"]
    assert copies[0] == "go.mod go.sum ./"
    runs = [args for k, args in build if k == "RUN"]
    assert "go mod download" in runs[0]
    assert "--mount=type=cache,target=/go/pkg/mod" in runs[0]
    assert kinds.index("RUN") < kinds.index("COPY", kinds.index("COPY") + 1)
    go_build = next(args for args in runs if "go build" in args)
    assert "--mount=type=cache,target=/root/.cache/go-build" in go_build
    # The runtime stage: a numeric non-root user, the binary's own probe, exec-form entry point.
    user = [args for k, args in runtime if k == "USER"]
    assert user == [f"{IMAGE_UID}:{IMAGE_UID}"]
    (healthcheck,) = [args for k, args in runtime if k == "HEALTHCHECK"]
    entrypoint = json.loads(next(args for k, args in runtime if k == "ENTRYPOINT"))
    assert entrypoint == [f"/usr/local/bin/{answers['project_name']}"]
    assert json.loads(healthcheck.split("CMD", 1)[1]) == [*entrypoint, "healthcheck"]
    labels = " ".join(args for k, args in runtime if k == "LABEL")
    for key in ("title", "description", "source", "version", "revision", "created"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert ('org.opencontainers.image.licenses="' in labels) == (answers["license"] != "proprietary")
    assert not [args for k, args in steps if k == "ADD"], "COPY, never ADD"
    ignore = (project / ".dockerignore").read_text().splitlines()
    assert "*" in ignore, ".dockerignore allows only what the build needs"


def test_base_specific_runtime_files(project: Path) -> None:
    """scratch gets CA certificates, time zones and a user from the build stage; alpine gets its
    user from a stage of its own and installs nothing (so no package cache is left); distroless has
    all three already. No runtime stage runs a command: building it for another platform than the
    build machine's needs no emulation (the generated CI sets none up)."""
    every = stages(project / "Dockerfile")
    runtime = every[-1]
    copied = {dst for _, dst in runtime_copies(project)}
    assert [args for k, args in runtime if k == "RUN"] == []
    base = base_of(project)
    if base == "scratch":
        assert {"/etc/ssl/certs/ca-certificates.crt", "/etc/passwd", "/etc/group"} <= copied
    if base in ("scratch", "alpine"):
        assert ("ENV", "ZONEINFO=/usr/local/share/zoneinfo.zip") in runtime
        assert "/usr/local/share/zoneinfo.zip" in copied
    if base == "alpine":
        # The users stage is the runtime's base image, run on the build machine's platform.
        users = next(stage for stage in every if stage[0][1].endswith(" AS users"))
        assert users[0][1] == f"--platform=$BUILDPLATFORM {runtime[0][1]} AS users"
        (adduser,) = [args for k, args in users if k == "RUN"]
        assert f"-u {IMAGE_UID}" in adduser
        assert "apk" not in adduser
        for name in ("/etc/passwd", "/etc/group"):
            assert ("COPY", f"--from=users {name} {name}") in runtime
    else:
        assert len(every) == 2, "a build stage and a runtime stage"


def native_build(project: Path, out: Path, stamps: dict[str, str]) -> Path:
    """Run the build stage's commands that write /out/ (the go build line and, for scratch, the
    passwd and group files) natively, writing to out instead; return the binary."""
    out.mkdir(parents=True, exist_ok=True)
    for command in dockerfile_output_commands(project, stamps):
        command = command.replace("/out/", f"{out}/")
        proc = subprocess.run(["sh", "-c", command], cwd=project, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{command}\n{proc.stderr}"
    return out / answers_of(project)["project_name"]


STAMPS = {"VERSION": "9.9.9-test", "COMMIT": "abc1234", "DATE": "2026-01-02T03:04:05Z"}


def test_dockerfile_build_command_natively(
    project: Path, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """Run the Dockerfile's own go build line (its flags, its ARG values) outside Docker."""
    assert "go build" in dockerfile_build_command(project, STAMPS)
    binary = native_build(project, tmp_path / "out", STAMPS)

    # Static: no program interpreter (dynamic loader) and no shared libraries in the ELF file.
    with binary.open("rb") as f:
        elf = ELFFile(f)
        assert elf["e_type"] == "ET_EXEC", f"not an executable: {elf['e_type']}"
        segments = [segment["p_type"] for segment in elf.iter_segments()]
        assert "PT_INTERP" not in segments, "the binary is dynamically linked"
        assert "PT_DYNAMIC" not in segments, "the binary needs shared libraries"
        sections = {section.name for section in elf.iter_sections()}
    # Built as the Dockerfile says: trimmed paths, no cgo, stripped, version stamped.
    info = subprocess.run(
        ["go", "version", "-m", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    assert "-trimpath=true" in info
    assert "CGO_ENABLED=0" in info
    assert ".text" in sections, f"no sections read from the binary: {sections}"
    assert ".symtab" not in sections, "not stripped (-s)"
    assert not {s for s in sections if s.startswith((".debug_", ".zdebug"))}, "has DWARF (-w)"
    version = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=True).stdout
    for stamp in STAMPS.values():
        assert stamp in version
    # The base's size is an estimate from its published size (no image registry is
    # reached here): the image is about the two together.
    base = base_of(project)
    binary_mb, base_mb = binary.stat().st_size / 1e6, BASE_IMAGE_BYTES[base] / 1e6
    total = binary_mb + base_mb
    size = f"{binary_mb:.1f} MB binary + about {base_mb:.1f} MB of {base} = about {total:.1f} MB"
    record_property("image_size", size)


def image_root(project: Path, tmp_path: Path, ca_bundle: Path) -> Path:
    """A directory laid out as the runtime stage lays out the image: the binary and what the stage
    copies from the build stage (from /out/ as built here, the rest from this machine, a Debian as
    the builder is, or from this Go installation for /usr/local/go/), the users stage's files as its
    commands make them, and stand-ins for what the base brings itself (tooling/dockerfile.py's
    BASE_FILES). ca_bundle stands in for the build stage's CA certificates, and for the base's."""
    out = tmp_path / "out"
    native_build(project, out, STAMPS)
    goroot = Path(go(project, "env", "GOROOT").strip())
    root = tmp_path / "rootfs"

    def place(dst: str) -> Path:
        target = root / dst.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    for src, dst in runtime_copies(project):
        if src.startswith("/out/"):
            origin = out / src.removeprefix("/out/")
        elif src.startswith("/usr/local/go/"):
            origin = goroot / src.removeprefix("/usr/local/go/")
        elif src == CA_BUNDLE:
            origin = ca_bundle
        else:
            origin = Path(src)
        assert origin.is_file(), f"the build stage's {src} has no counterpart here ({origin})"
        target = place(dst)
        shutil.copyfile(origin, target)
        target.chmod(0o755 if src.startswith("/out/") and "." not in target.name else 0o644)
    for dst, text in users_stage_files(project).items():
        place(dst).write_text(text)
    for dst, text in BASE_FILES[base_of(project)].items():
        assert not (root / dst.lstrip("/")).exists(), f"the Dockerfile copies {dst}, which the base has"
        if dst == CA_BUNDLE:
            shutil.copyfile(ca_bundle, place(dst))
        elif text is not None:
            place(dst).write_text(text)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else path.stat().st_mode & 0o755 | 0o644)
    return root


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on loopback whose certificate is signed by a CA of the tests' own, and a CA
    bundle that holds that CA after this machine's: (its URL, the bundle). Only a binary that finds
    the bundle where Go looks for it can call the server."""
    openssl = system_tool("openssl")
    pki = tmp_path_factory.mktemp("pki")

    def run(*args: str) -> None:
        proc = subprocess.run(
            [openssl, *args], cwd=pki, capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stderr

    key = ("-newkey", "rsa:2048", "-nodes", "-days", "2")
    run("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=template tests CA")
    run("req", *key[:3], "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (pki / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    sign = ("-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext")
    run("x509", "-req", "-in", "server.csr", *sign, "-out", "server.crt")
    bundle = pki / "ca-certificates.crt"
    bundle.write_text(Path(CA_BUNDLE).read_text() + (pki / "ca.crt").read_text())

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.crt", pki / "server.key")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OkHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/", bundle
    finally:
        server.shutdown()
        server.server_close()


class OkHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def tlsprobe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/tools/tlsprobe built as the Dockerfiles build the service: static, without cgo."""
    exe = tmp_path_factory.mktemp("tools") / "tlsprobe"
    subprocess.run(
        ["go", "build", "-trimpath", "-o", str(exe), "."],
        cwd=TOOLS / "tlsprobe",
        env={**os.environ, "CGO_ENABLED": "0"},
        check=True,
        timeout=600,
    )
    return exe


# chroot is an administrator's command (/usr/sbin), which a non-login shell's PATH may leave out.
SYSTEM_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def system_tool(name: str) -> str:
    found = shutil.which(name, path=SYSTEM_PATH)
    assert found, f"{name} is not installed (searched {SYSTEM_PATH})"
    return found


def sandboxed(root: Path, tmp_path: Path, name: str) -> Path:
    """An executable that runs the image's entry point in root as the image does: as uid 65532, its
    root directory read-only (a bind mount in a mount namespace of its own), no writable directory
    and no home. The same process throughout (exec), so that signals reach the service."""
    wrapper = tmp_path / f"run-{name}-as-image"
    mount = system_tool("mount")
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {system_tool('unshare')} --mount --propagation private -- /bin/sh -c '"
        f'{mount} --bind "$0" "$0" && {mount} -o remount,bind,ro "$0" && '
        f'exec {system_tool("chroot")} --userspec={IMAGE_UID}:{IMAGE_UID} "$0" /usr/local/bin/{name} "$@"'
        f'\' {root} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def image_needs(project: Path, root: Path) -> list[str]:
    """What the image at root lacks of what the service needs from it, whichever base: the user
    65532 (passwd and group entries; a user the Dockerfile makes has no home), time zones Go can read
    (a ZONEINFO archive the image holds, or the base's tzdata), and CA certificates where Go looks
    first. Each comes from the Dockerfile or from the base, per tooling/dockerfile.py's BASE_FILES."""
    base = BASE_FILES[base_of(project)]
    missing = []
    passwd = root / "etc/passwd"
    users = [line.split(":") for line in passwd.read_text().splitlines()] if passwd.is_file() else []
    entry = next((u for u in users if u[2:4] == [str(IMAGE_UID)] * 2), None)
    if entry is None:
        missing.append(f"/etc/passwd: no user {IMAGE_UID}:{IMAGE_UID}")
    elif "/etc/passwd" not in base and (root / entry[5].lstrip("/")).exists():
        missing.append(f"/etc/passwd: the user's home {entry[5]} exists")
    group = root / "etc/group"
    if not (
        group.is_file() and any(g.split(":")[2] == str(IMAGE_UID) for g in group.read_text().splitlines())
    ):
        missing.append(f"/etc/group: no group {IMAGE_UID}")
    zoneinfo = runtime_env(project).get("ZONEINFO")
    if zoneinfo is not None:
        archive = root / zoneinfo.lstrip("/")
        if not archive.is_file() or "Europe/Berlin" not in zipfile.ZipFile(archive).namelist():
            missing.append(f"ZONEINFO={zoneinfo}: no archive with Europe/Berlin there")
    elif "/usr/share/zoneinfo" not in base:
        missing.append("time zones: no ZONEINFO archive and the base has no tzdata")
    if not (root / CA_BUNDLE.lstrip("/")).is_file():
        missing.append(f"{CA_BUNDLE}: not there")
    return missing


def test_image_holds_what_the_service_needs(
    project: Path, tmp_path: Path, tls_server: tuple[str, Path], tlsprobe: Path
) -> None:
    """Whichever base, the image holds the service's user, time zones and CA certificates (without
    root: test_binary_runs_as_the_image_runs_it runs the binary in it). A static Go binary trusting
    only the image's bundle calls an HTTPS server whose CA only that bundle holds."""
    url, bundle = tls_server
    root = image_root(project, tmp_path, bundle)
    assert image_needs(project, root) == []
    empty = tmp_path / "no-certs"
    empty.mkdir()
    image_only = {"SSL_CERT_FILE": str(root / CA_BUNDLE.lstrip("/")), "SSL_CERT_DIR": str(empty)}
    probe = subprocess.run(
        [str(tlsprobe), url],
        env=clean_env(**image_only),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr


def test_image_needs_finds_what_is_missing(
    project: Path, tmp_path: Path, tls_server: tuple[str, Path]
) -> None:
    """Each thing the image must hold, taken away (or a home given), is reported."""
    root = image_root(project, tmp_path, tls_server[1])
    base = BASE_FILES[base_of(project)]
    (root / CA_BUNDLE.lstrip("/")).unlink()
    (root / "etc/group").write_text("")
    passwd = root / "etc/passwd"
    home = next(line.split(":")[5] for line in passwd.read_text().splitlines() if f":{IMAGE_UID}:" in line)
    (root / home.lstrip("/")).mkdir(parents=True, exist_ok=True)
    zoneinfo = runtime_env(project).get("ZONEINFO")
    if zoneinfo is not None:
        (root / zoneinfo.lstrip("/")).unlink()
    found = image_needs(project, root)
    assert f"{CA_BUNDLE}: not there" in found
    assert f"/etc/group: no group {IMAGE_UID}" in found
    assert (f"/etc/passwd: the user's home {home} exists" in found) == ("/etc/passwd" not in base)
    assert (zoneinfo is not None) == any(line.startswith("ZONEINFO=") for line in found)
    passwd.write_text("root:x:0:0:root:/root:/sbin/nologin\n")
    assert f"/etc/passwd: no user {IMAGE_UID}:{IMAGE_UID}" in image_needs(project, root)


def test_binary_runs_as_the_image_runs_it(
    project: Path,
    tmp_path: Path,
    dependency_env: dict[str, str],
    tls_server: tuple[str, Path],
    tlsprobe: Path,
) -> None:
    if os.geteuid() != 0 or shutil.which("unshare", path=SYSTEM_PATH) is None:
        pytest.skip(
            "needs root and util-linux's unshare to make a read-only root for another user "
            "(test_image_holds_what_the_service_needs checks the image's files without them)"
        )
    name = answers_of(project)["project_name"]
    url, bundle = tls_server
    root = image_root(project, tmp_path, bundle)
    assert image_needs(project, root) == []
    # A static Go binary, run in the image as the service is, finds the CA bundle where Go looks by
    # itself (no SSL_CERT_FILE): an outgoing HTTPS call to a server of the tests' own CA succeeds.
    shutil.copyfile(tlsprobe, root / "usr/local/bin/tlsprobe")
    (root / "usr/local/bin/tlsprobe").chmod(0o755)
    probe = subprocess.run(
        [str(sandboxed(root, tmp_path, "tlsprobe")), url],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert probe.returncode == 0, probe.stdout + probe.stderr
    (root / "usr/local/bin/tlsprobe").unlink()
    wrapper = sandboxed(root, tmp_path, name)
    svc = Service.start(wrapper, {"HOME": "/nonexistent", **dependency_env})
    try:
        svc.wait_ready()
        status = proc_status(svc.proc.pid)
        assert status["Uid"].split() == [str(IMAGE_UID)] * 4
        assert status["Gid"].split() == [str(IMAGE_UID)] * 4
        assert int(status["CapEff"], 16) == 0, "no capabilities"
        mounts = Path(f"/proc/{svc.proc.pid}/mountinfo").read_text().splitlines()
        (own_root,) = [m for m in mounts if m.split()[4] == "/"]
        assert "ro" in own_root.split()[5].split(","), own_root
        assert not (root / "nonexistent").exists()

        assert svc.get("/livez").status == 200
        assert svc.get("/readyz").status == 200
        metrics = http_request(svc.admin_port, "GET", "/metrics")
        assert metrics.status == 200
        # The image's HEALTHCHECK: the binary's own command, run the same way.
        probe = subprocess.run(
            [str(wrapper), "healthcheck"],
            env=svc.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert probe.returncode == 0, probe.stderr
    finally:
        code = svc.stop()
    assert code == 0, svc.output()
    probe = subprocess.run(
        [str(wrapper), "healthcheck"], env=svc.env, capture_output=True, text=True, timeout=30, check=False
    )
    assert probe.returncode != 0, "the healthcheck passes with no service running"


# -- Makefile, Compose --------------------------------------------------------------------------------


def test_makefile_targets(project: Path) -> None:
    proc = subprocess.run(["make", "help"], cwd=project, capture_output=True, text=True, check=True)
    targets = ("help", "build", "run", "test", "lint", "docker-build", "docker-run", "clean")
    for target in (*targets, "compose-up", "compose-down", "k8s-render"):
        assert re.search(rf"^\s+{target}\s+\S", proc.stdout, re.M), f"make help lacks {target}"
    dry = subprocess.run(
        ["make", "-n", "build", "VERSION=1.2.3"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    for flag in ("-trimpath", "buildinfo.version=1.2.3", "CGO_ENABLED=0"):
        assert flag in dry
    dry = subprocess.run(
        ["make", "-n", "docker-build", "docker-run", "compose-up", "compose-down", "VERSION=1.2.3"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    name = answers_of(project)["project_name"]
    assert f"-t {name}:1.2.3 ." in dry
    assert "--read-only --cap-drop ALL" in dry
    assert "-p 127.0.0.1:9090:9090" in dry
    assert "docker compose up --build" in dry
    assert "docker compose down" in dry
    # Without kustomize in .tools/, k8s-render installs the version the template's tests render with.
    (pin,) = [p for p in go_tool_pins() if p.name == KUSTOMIZE]
    dry = subprocess.run(
        ["make", "-n", "k8s-render"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    assert f"go install {KUSTOMIZE}@{pin.version}" in dry
    assert "build deploy/kubernetes/overlays/dev" in dry


@pytest.fixture(scope="session")
def composecheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("tools") / "composecheck"
    subprocess.run(["go", "build", "-o", str(exe), "."], cwd=TOOLS / "composecheck", check=True, timeout=600)
    return exe


def compose_services(project: Path, composecheck: Path) -> dict[str, dict[str, Any]]:
    proc = subprocess.run(
        [str(composecheck), "docker-compose.yml"], cwd=project, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return dict(yaml.safe_load(proc.stdout)["services"])


def compose_service(project: Path, composecheck: Path) -> dict[str, Any]:
    """The service's own entry of docker-compose.yml (the others are what it depends on)."""
    return dict(compose_services(project, composecheck)[answers_of(project)["project_name"]])


def test_compose_file_loads(project: Path, composecheck: Path) -> None:
    service = compose_service(project, composecheck)
    name = answers_of(project)["project_name"]
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["restart"] == "unless-stopped"
    assert service["healthcheck"]["test"] == ["CMD", f"/usr/local/bin/{name}", "healthcheck"]
    assert any(p.get("host_ip") == "127.0.0.1" and p["target"] == 9090 for p in service["ports"])
    assert all(p.get("host_ip") == "127.0.0.1" for p in service["ports"] if p["target"] == 9090)
    # The admin listener defaults to the container's loopback, which a published port cannot reach.
    assert service["environment"]["ADMIN_ADDR"] == ":9090"
    if answers_of(project)["database"] == "postgres":
        services = compose_services(project, composecheck)
        # The service starts once PostgreSQL answers and the migrations are applied.
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
        assert services["migrate"]["command"] == ["migrate"]
        assert services["migrate"]["image"] == service["image"]
        assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert all(p.get("host_ip") == "127.0.0.1" for p in services["postgres"]["ports"])


# The servers a service may need, by the secret URL setting that names each, and the name of its
# Compose service (which is also the URL's host there).
DEPENDENCIES = {"DATABASE_URL": "postgres", "REDIS_URL": "redis"}
# The servers a service sends to without waiting for them (what it sends while one is down is
# dropped), by the setting that names each, and the name of its Compose service.
SIDE_SERVERS = {"OTEL_EXPORTER_OTLP_ENDPOINT": "jaeger"}


def needed_dependencies(project: Path, servers: dict[str, str] = DEPENDENCIES) -> dict[str, str]:
    """The dependencies the service needs, as .env.example declares them (set or commented out)."""
    example = (project / ".env.example").read_text()
    listed = set(re.findall(r"^#?[ \t]*([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    return {setting: name for setting, name in servers.items() if setting in listed}


def test_compose_starts_the_dependencies_first(project: Path, composecheck: Path) -> None:
    """Each server the service needs is a Compose service with a healthcheck, published on the host's
    loopback only; the service waits until it is healthy and names it by its service name. A server
    it only sends to (the trace viewer) is published on loopback too and named, never waited for."""
    services = compose_services(project, composecheck)
    name = answers_of(project)["project_name"]
    needed = needed_dependencies(project)
    side = needed_dependencies(project, SIDE_SERVERS)
    # Besides the servers, a one-shot service may prepare one (a database's migrations).
    one_shot = {s for s, spec in services.items() if spec.get("restart") == "no"}
    assert set(services) - one_shot == {name, *needed.values(), *side.values()}
    app = services[name]
    assert set(app.get("depends_on", {})) - one_shot == set(needed.values())
    for dependency in needed.values():
        assert app["depends_on"][dependency]["condition"] == "service_healthy"
        assert services[dependency]["healthcheck"]["test"], dependency
    for setting, dependency in {**needed, **side}.items():
        assert all(p.get("host_ip") == "127.0.0.1" for p in services[dependency].get("ports", [])), dependency
        assert urlsplit(app["environment"][setting]).hostname == dependency, app["environment"][setting]


def test_compose_check_rejects_a_broken_file(tmp_path: Path, composecheck: Path) -> None:
    # The loader really validates: an unknown service key is refused.
    (tmp_path / "docker-compose.yml").write_text("services:\n  app:\n    image: x\n    colour: red\n")
    proc = subprocess.run(
        [str(composecheck), "docker-compose.yml"], cwd=tmp_path, capture_output=True, check=False
    )
    assert proc.returncode != 0


# -- Kubernetes ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kustomize() -> Path:
    """kustomize as noxfile.py's GO_TOOLS installs it (`go install`, pinned), on PATH."""
    found = shutil.which("kustomize")
    if found is None:
        pytest.fail("kustomize is not on PATH: `nox` installs it (noxfile.py, GO_TOOLS)")
    (pin,) = [p for p in go_tool_pins() if p.name == KUSTOMIZE]
    version = subprocess.run([found, "version"], capture_output=True, text=True, check=True).stdout
    assert version.strip() == pin.version, f"{found} is kustomize {version.strip()}, not {pin.version}"
    return Path(found)


def overlays(project: Path) -> list[Path]:
    found = sorted(p for p in (project / "deploy/kubernetes/overlays").iterdir() if p.is_dir())
    assert [p.name for p in found] == ["dev", "prod"]
    return found


def build(kustomize: Path, directory: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(kustomize), "build", str(directory)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def test_dependency_urls_come_from_the_secret(project: Path, kustomize: Path) -> None:
    """A dependency's URL holds its password: the Deployment takes it from the Secret by key, required
    (a pod without it does not start and says why), and the ConfigMap never holds it."""
    name = answers_of(project)["project_name"]
    needed = needed_dependencies(project)
    for overlay in overlays(project):
        docs = build(kustomize, overlay)
        settings = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
        assert not set(DEPENDENCIES) & set(settings), overlay.name
        pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
        for container in pod["containers"]:
            refs = {
                e["name"]: e["valueFrom"]["secretKeyRef"]
                for e in container.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})
            }
            assert set(refs) == set(needed), f"{overlay.name}: {sorted(refs)}"
            for setting, ref in refs.items():
                assert ref["name"] == f"{name}-secrets", setting
                assert ref["key"] == setting
                assert not ref.get("optional", False), f"{setting} is required"


def newest_kubernetes_versions(count: int = 3) -> list[str]:
    """The newest minor versions kubernetes-validate has schemas for, newest first."""
    minors: dict[str, str] = {}
    for version in all_versions():
        minors.setdefault(".".join(version.split(".")[:2]), version)
    newest = sorted(minors.values(), key=lambda v: tuple(int(n) for n in v.split(".")), reverse=True)
    return newest[:count]


def validate(docs: list[dict[str, Any]], tmp_path: Path, version: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"manifests-{version}.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "--kubernetes-version", version, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def unknown_kinds(proc: subprocess.CompletedProcess[str]) -> set[str]:
    """Kinds kubernetes-validate only warned about, having no schema for them."""
    return set(re.findall(r"Couldn't find schema for kind (\w+)", proc.stdout + proc.stderr))


def test_every_overlay_validates_against_the_newest_kubernetes(
    project: Path, kustomize: Path, tmp_path: Path
) -> None:
    versions = newest_kubernetes_versions()
    assert len(versions) == 3
    for overlay in overlays(project):
        docs = build(kustomize, overlay)
        kinds = {d["kind"] for d in docs}
        assert kinds == {
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Service",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
        }, overlay.name
        for version in versions:
            proc = validate(docs, tmp_path, version)
            assert proc.returncode == 0, f"{overlay.name} on {version}:\n{proc.stdout}{proc.stderr}"
            assert unknown_kinds(proc) == set(), f"{overlay.name}: not every kind was validated"


def test_kubernetes_validate_rejects_an_unknown_field(project: Path, kustomize: Path, tmp_path: Path) -> None:
    docs = build(kustomize, overlays(project)[0])
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    proc = validate(docs, tmp_path, newest_kubernetes_versions()[0])
    assert proc.returncode != 0


def test_servicemonitor_component(project: Path, kustomize: Path, tmp_path: Path) -> None:
    """The prod overlay's commented `components` lines, uncommented as its comment says, add a
    ServiceMonitor. It is a custom resource, whose schema kubernetes-validate does not have: every
    other object is validated strictly, and the ServiceMonitor is checked against the Service and
    pods it must find."""
    copy = tmp_path / "kubernetes"
    shutil.copytree(project / "deploy/kubernetes", copy)
    kustomization = copy / "overlays/prod/kustomization.yaml"
    text = kustomization.read_text()
    enabled = re.sub(r"^# (components:\n)#(   - \S+/servicemonitor\n)", r"\1\2", text, flags=re.M)
    assert enabled != text, "the prod overlay has no commented ServiceMonitor component"
    kustomization.write_text(enabled)
    docs = build(kustomize, copy / "overlays/prod")
    (monitor,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
    for version in newest_kubernetes_versions():
        proc = validate(docs, tmp_path, version)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert unknown_kinds(proc) == {"ServiceMonitor"}
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selected = [
        d
        for d in docs
        if d["kind"] == "Service"
        and monitor["spec"]["selector"]["matchLabels"].items() <= d["metadata"]["labels"].items()
    ]
    assert len(selected) == 1, "the ServiceMonitor selects exactly one Service"
    (admin_service,) = selected
    (endpoint,) = monitor["spec"]["endpoints"]
    (port,) = [p for p in admin_service["spec"]["ports"] if p["name"] == endpoint["port"]]
    assert endpoint["path"] == "/metrics"
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]
    assert admin_service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    container_ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    assert container_ports[port["targetPort"]] == 9090


def test_make_k8s_render_prints_the_overlay(project: Path, kustomize: Path) -> None:
    for overlay in overlays(project):
        proc = subprocess.run(
            [
                "make",
                "--no-print-directory",
                "k8s-render",
                f"OVERLAY={overlay.name}",
                f"KUSTOMIZE={kustomize}",
            ],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert [d for d in yaml.safe_load_all(proc.stdout) if d] == build(kustomize, overlay)


def pod_templates(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload."""
    pods = []
    for d in docs:
        if d["kind"] not in WORKLOAD_KINDS:
            continue
        spec = d["spec"]
        if d["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        pods.append(
            (f"{d['kind']}/{d['metadata']['name']}", spec if d["kind"] == "Pod" else spec["template"]["spec"])
        )
    return pods


# The volume types the restricted profile allows.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim"}
RESTRICTED_VOLUMES |= {"projected", "secret"}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """The Pod Security Standards' restricted profile (kubernetes.io/docs/concepts/security/
    pod-security-standards), baseline included, field by field, for one pod spec and each of its
    containers, with the pod's securityContext as the containers' default."""
    problems = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            problems.append(f"{field} must be unset or false")
    pod_sc = pod.get("securityContext", {})
    for volume in pod.get("volumes", []):
        if set(volume) - RESTRICTED_VOLUMES - {"name"}:
            problems.append(f"volume {volume['name']} has a type the restricted profile forbids")
    if pod_sc.get("seLinuxOptions", {}).get("type") not in (None, "", "container_t", "container_init_t"):
        problems.append("pod: seLinuxOptions.type")
    if pod_sc.get("windowsOptions", {}).get("hostProcess"):
        problems.append("pod: windowsOptions.hostProcess")
    safe_sysctls = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies"}
    safe_sysctls |= {"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}
    if {s["name"] for s in pod_sc.get("sysctls", [])} - safe_sysctls:
        problems.append("pod: unsafe sysctls")
    containers = pod.get("initContainers", []) + pod.get("ephemeralContainers", []) + pod["containers"]
    for c in containers:
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{name}: capabilities must drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities")
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot must be true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            problems.append(f"{name}: runAsUser must not be 0")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost")
        if sc.get("procMount", "Default") != "Default":
            problems.append(f"{name}: procMount")
        apparmor = sc.get("appArmorProfile", pod_sc.get("appArmorProfile", {}))
        if apparmor.get("type", "RuntimeDefault") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: appArmorProfile")
        if sc.get("seLinuxOptions", {}).get("type") not in (None, "", "container_t", "container_init_t"):
            problems.append(f"{name}: seLinuxOptions.type")
        if sc.get("windowsOptions", {}).get("hostProcess"):
            problems.append(f"{name}: windowsOptions.hostProcess")
        if any(p.get("hostPort") for p in c.get("ports", [])):
            problems.append(f"{name}: hostPort")
    return problems


def test_pods_meet_the_restricted_pod_security_standard(project: Path, kustomize: Path) -> None:
    for overlay in overlays(project):
        docs = build(kustomize, overlay)
        pods = pod_templates(docs)
        assert pods, overlay.name
        for workload, pod in pods:
            assert restricted_violations(pod) == [], f"{overlay.name}: {workload}"
            for container in every_container(pod):
                # Beyond the profile: each container (init containers too, such as the migrate
                # step) carries the whole context itself, with the image's user, and its root
                # filesystem read-only.
                where = f"{overlay.name}: {workload}: {container['name']}"
                assert hardening_violations(container) == [], where
        # The namespace enforces the same profile.
        (namespace,) = [d for d in docs if d["kind"] == "Namespace"]
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {
            namespace["metadata"]["name"]
        }


def every_container(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container of a pod spec: init, ephemeral and regular."""
    return [*pod.get("initContainers", []), *pod.get("ephemeralContainers", []), *pod["containers"]]


# What every container's own securityContext holds, beyond the restricted profile.
HARDENED = {
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": IMAGE_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}


def hardening_violations(container: dict[str, Any]) -> list[str]:
    sc = container.get("securityContext", {})
    return [f"{key}: {sc.get(key)!r}, want {want!r}" for key, want in HARDENED.items() if sc.get(key) != want]


def test_hardening_check_covers_every_container() -> None:
    """A writable root in an init container (or an ephemeral one) is caught like one in the main
    container."""
    hardened = {"name": "ok", "securityContext": dict(HARDENED)}
    writable = {"name": "migrate", "securityContext": {**HARDENED, "readOnlyRootFilesystem": False}}
    for field in ("initContainers", "ephemeralContainers", "containers"):
        pod = {"containers": [hardened], field: [writable]} if field != "containers" else {field: [writable]}
        found = [(c["name"], hardening_violations(c)) for c in every_container(pod)]
        assert ("migrate", ["readOnlyRootFilesystem: False, want True"]) in found, field


def test_restricted_check_catches_each_violation() -> None:
    good = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "x",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    }
    assert restricted_violations(good) == []
    bad_pod = {"hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}
    bad_container = {
        "privileged": True,
        "capabilities": {"add": ["SYS_ADMIN"]},
        "runAsNonRoot": False,
        "runAsUser": 0,
        "seccompProfile": {"type": "Unconfined"},
        "procMount": "Unmasked",
    }
    pod = {**good, **bad_pod, "containers": [{"name": "x", "securityContext": bad_container}]}
    assert len(restricted_violations(pod)) == 10, restricted_violations(pod)


def test_database_url_comes_from_the_secret(project: Path, kustomize: Path) -> None:
    """With a database, the service and its migrate init container read DATABASE_URL from the
    Secret, required; without one, nothing names it."""
    postgres = answers_of(project)["database"] == "postgres"
    name = answers_of(project)["project_name"]
    for overlay in overlays(project):
        docs = build(kustomize, overlay)
        pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
        init = pod.get("initContainers", [])
        assert [c["args"] for c in init] == ([["migrate"]] if postgres else []), overlay.name
        for c in init + pod["containers"]:
            refs = [e["valueFrom"]["secretKeyRef"] for e in c.get("env", []) if e["name"] == "DATABASE_URL"]
            want = [{"name": f"{name}-secrets", "key": "DATABASE_URL"}] if postgres else []
            assert refs == want, c["name"]


def test_deployment_scales_and_survives_updates(project: Path, kustomize: Path) -> None:
    """What the manifests promise beyond the schemas: probes on the contract's endpoints, a rolling
    update that never lowers capacity, an autoscaler, a disruption budget and a network policy that
    select the pods, settings from a ConfigMap and secrets from a Secret that is not committed."""
    name = answers_of(project)["project_name"]
    for overlay in overlays(project):
        docs = build(kustomize, overlay)
        by_kind = {d["kind"]: d for d in docs}
        deployment = by_kind["Deployment"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert container["startupProbe"]["httpGet"]["path"] == "/livez"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["resources"]["requests"]["cpu"]
        assert container["resources"]["limits"]["memory"]
        assert container["image"].startswith(f"{name}:")
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "9090"
        assert {t["topologyKey"] for t in pod["topologySpreadConstraints"]} == {
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
        }
        for constraint in pod["topologySpreadConstraints"]:
            assert constraint["labelSelector"]["matchLabels"].items() <= labels.items()

        account = by_kind["ServiceAccount"]
        assert pod["serviceAccountName"] == account["metadata"]["name"]
        assert account["automountServiceAccountToken"] is False
        assert pod["automountServiceAccountToken"] is False

        hpa = by_kind["HorizontalPodAutoscaler"]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": deployment["metadata"]["name"],
        }
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        pdb = by_kind["PodDisruptionBudget"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert pdb["spec"]["maxUnavailable"] == 1, "a drain evicts one pod at a time, and is never blocked"

        service = by_kind["Service"]
        assert service["spec"]["selector"].items() <= labels.items()
        assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"], "the admin port stays private"

        # Non-secret settings from the generated ConfigMap; secrets from a Secret no file holds.
        sources = container["envFrom"]
        (config_ref,) = [s["configMapRef"]["name"] for s in sources if "configMapRef" in s]
        assert config_ref == by_kind["ConfigMap"]["metadata"]["name"]
        (secret_ref,) = [s["secretRef"] for s in sources if "secretRef" in s]
        assert secret_ref["name"] == f"{name}-secrets"
        assert "Secret" not in by_kind, "no secret values are committed"
        settings = by_kind["ConfigMap"]["data"]
        assert settings["ADMIN_ADDR"] == ":9090", "Prometheus scrapes the admin listener at the pod IP"
        # The memory limit, in bytes, from the downward API: the service sets GOMEMLIMIT below it.
        env = {e["name"]: e for e in container.get("env", [])}
        assert "GOMEMLIMIT" not in env
        assert "GOMEMLIMIT" not in settings
        field = env["CONTAINER_MEMORY_LIMIT"]["valueFrom"]["resourceFieldRef"]
        assert field["resource"] == "limits.memory"
        assert field.get("containerName", container["name"]) == container["name"]
        assert str(field.get("divisor", "1")) == "1", "the service reads bytes"

        policy = by_kind["NetworkPolicy"]["spec"]
        assert policy["podSelector"]["matchLabels"].items() <= labels.items()
        assert policy["policyTypes"] == ["Ingress"]
        public = [r for r in policy["ingress"] if "from" not in r]
        private = [r for r in policy["ingress"] if "from" in r]
        assert [p["port"] for r in public for p in r["ports"]] == ["http"], "only the public port is open"
        (admin_rule,) = private
        assert [p["port"] for p in admin_rule["ports"]] == ["admin"]
        (source,) = admin_rule["from"]
        assert set(source) == {"namespaceSelector"}, "admin only from a labelled namespace"
        assert source["namespaceSelector"]["matchLabels"]


# -- the shutdown budget ------------------------------------------------------------------------------

DEFAULTS_PROBE = """\
package main

import (
\t"fmt"

\t"{module}/internal/config"
)

func main() {{
\t// The settings a variant requires, with values nothing connects to; the others keep their defaults.
\trequired := map[string]string{{"DATABASE_URL": "postgres://localhost/probe", "REDIS_URL": "redis://localhost:6379/0"}}
\tcfg, err := config.Load(func(k string) string {{ return required[k] }})
\tif err != nil {{
\t\tpanic(err)
\t}}
\tfmt.Println(cfg.ShutdownDrainDelay.Seconds(), cfg.ShutdownTimeout.Seconds())
}}
"""


def binary_shutdown_defaults(project: Path, tmp_path: Path) -> tuple[float, float]:
    """SHUTDOWN_DRAIN_DELAY and SHUTDOWN_TIMEOUT as the service's own config package defaults them,
    read by a program added to the project only through `go run -overlay` (nothing is written into
    the project)."""
    source = tmp_path / "main.go"
    source.write_text(DEFAULTS_PROBE.format(module=answers_of(project)["module_path"]))
    overlay = tmp_path / "overlay.json"
    package = project / "internal/config/defaultsprobe"
    overlay.write_text(json.dumps({"Replace": {str(package / "main.go"): str(source)}}))
    out = go(project, "run", f"-overlay={overlay}", "./internal/config/defaultsprobe")
    drain, timeout = (float(v) for v in out.split())
    return drain, timeout


def seconds(value: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(s|m)", value)
    assert match, f"{value}: write seconds or minutes"
    return float(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_shutdown_budget_follows_the_binary_defaults(
    project: Path, kustomize: Path, composecheck: Path, tmp_path: Path
) -> None:
    """The manifests set the service's own defaults, and the time Kubernetes and Compose give a
    stopping container is derived from them: drain delay + shutdown timeout + a margin for the exit.
    A default changed in internal/config without the manifests fails here."""
    drain, timeout = binary_shutdown_defaults(project, tmp_path)
    for overlay in overlays(project):
        docs = build(kustomize, overlay)
        settings = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
        assert seconds(settings["SHUTDOWN_DRAIN_DELAY"]) == drain, overlay.name
        assert seconds(settings["SHUTDOWN_TIMEOUT"]) == timeout, overlay.name
        pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
        margin = pod["terminationGracePeriodSeconds"] - drain - timeout
        assert 1 <= margin <= 10, f"grace period {pod['terminationGracePeriodSeconds']}s: margin {margin}s"
        grace = pod["terminationGracePeriodSeconds"]
    service = compose_service(project, composecheck)
    # compose-go writes durations as Go does (30s, 1m0s).
    assert service["stop_grace_period"] in (f"{grace:g}s", f"{grace // 60:g}m{grace % 60:g}s")
    example = dict(
        line.split("=", 1)
        for line in (project / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert seconds(example["SHUTDOWN_DRAIN_DELAY"]) == drain
    assert seconds(example["SHUTDOWN_TIMEOUT"]) == timeout


def test_env_example_names_the_new_defaults(project: Path) -> None:
    settings = dict(
        line.split("=", 1)
        for line in (project / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert settings["ADMIN_ADDR"] == "127.0.0.1:9090"
    assert settings["HTTP_MAX_HEADER_BYTES"] == str(64 << 10)
    assert settings["MAX_BODY_BYTES"] == str(64 << 10)
    assert settings["READINESS_INTERVAL"] == "2s"


# -- update bots and docs -----------------------------------------------------------------------------


def test_base_image_digests_are_pinned_by_the_update_bot(project: Path) -> None:
    """No digest is written into the template (none could be checked here); Renovate pins and bumps
    them, Dependabot bumps a digest once it is there, and the README says how to pin it."""
    froms = [args for kind, args in dockerfile_instructions(project / "Dockerfile") if kind == "FROM"]
    assert not [f for f in froms if "@sha256:" in f]
    ci = answers_of(project)["ci"]
    if ci == "gitlab":
        rules = json.loads((project / "renovate.json").read_text())["packageRules"]
        assert any(r.get("pinDigests") is True and "dockerfile" in r["matchManagers"] for r in rules)
    readme = (project / "README.md").read_text()
    assert "@sha256:" in readme, "the README says how base images are pinned to digests"
