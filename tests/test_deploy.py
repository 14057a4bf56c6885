"""Container and deployment files: the Dockerfile passes hadolint and its build command, run
natively, gives a static, version-stamped binary; the Compose file loads with Docker Compose's
own loader; the Kubernetes manifests validate against the API schemas and meet the restricted
Pod Security Standard. The CI files are checked in test_ci."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from elftools.elf.elffile import ELFFile

from conftest import answers_of
from tooling.dockerfile import dockerfile_build_command, dockerfile_instructions

pytestmark = pytest.mark.slow

TOOLS = Path(__file__).parent / "tools"
BIN = Path(sys.executable).parent


def test_hadolint_clean(project: Path) -> None:
    proc = subprocess.run(
        [str(BIN / "hadolint"), "Dockerfile"], cwd=project, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_shape(project: Path) -> None:
    steps = dockerfile_instructions(project / "Dockerfile")
    kinds = [k for k, _ in steps]
    assert kinds.count("FROM") == 2, "multi-stage: a build stage and a runtime stage"
    copies = [args for k, args in steps if k == "COPY"]
    # Module download is its own cached layer: go.mod/go.sum are copied and downloaded first.
    assert copies[0] == "go.mod go.sum ./"
    assert kinds.index("RUN") < kinds.index("COPY", kinds.index("COPY") + 1)
    assert "go mod download" in next(args for k, args in steps if k == "RUN")
    runtime = steps[kinds.index("FROM", kinds.index("FROM") + 1) :]
    user = [args for k, args in runtime if k == "USER"]
    assert user, "the runtime stage sets a user"
    assert user[-1].split(":")[0] not in ("0", "root")
    assert any(k == "HEALTHCHECK" and "healthcheck" in args for k, args in runtime)
    ignore = (project / ".dockerignore").read_text().splitlines()
    assert "*" in ignore, ".dockerignore allows only what the build needs"


def test_dockerfile_build_command_natively(project: Path, tmp_path: Path) -> None:
    """Run the Dockerfile's own go build line (its flags, its ARG values) outside Docker."""
    stamps = {"VERSION": "9.9.9-test", "COMMIT": "abc1234", "DATE": "2026-01-02T03:04:05Z"}
    command = dockerfile_build_command(project, stamps)
    out = tmp_path / "out"
    command = command.replace("/out/", f"{out}/")
    proc = subprocess.run(["sh", "-c", command], cwd=project, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{command}\n{proc.stderr}"
    binary = out / answers_of(project)["project_name"]

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
    for stamp in stamps.values():
        assert stamp in version


def test_makefile_targets(project: Path) -> None:
    proc = subprocess.run(["make", "help"], cwd=project, capture_output=True, text=True, check=True)
    for target in ("help", "build", "run", "test", "lint", "docker-build", "clean"):
        assert re.search(rf"^\s+{target}\s+\S", proc.stdout, re.M), f"make help lacks {target}"
    dry = subprocess.run(
        ["make", "-n", "build", "VERSION=1.2.3"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    for flag in ("-trimpath", "buildinfo.version=1.2.3", "CGO_ENABLED=0"):
        assert flag in dry


@pytest.fixture(scope="session")
def composecheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("tools") / "composecheck"
    subprocess.run(["go", "build", "-o", str(exe), "."], cwd=TOOLS / "composecheck", check=True, timeout=600)
    return exe


def test_compose_file_loads(project: Path, composecheck: Path) -> None:
    proc = subprocess.run(
        [str(composecheck), "docker-compose.yml"], cwd=project, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    loaded = yaml.safe_load(proc.stdout)
    (service,) = loaded["services"].values()
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert any(p.get("host_ip") == "127.0.0.1" and p["target"] == 9090 for p in service["ports"])
    # The admin listener defaults to the container's loopback, which a published port cannot reach.
    assert service["environment"]["ADMIN_ADDR"] == ":9090"


def test_compose_check_rejects_a_broken_file(tmp_path: Path, composecheck: Path) -> None:
    # The loader really validates: an unknown service key is refused.
    (tmp_path / "docker-compose.yml").write_text("services:\n  app:\n    image: x\n    colour: red\n")
    proc = subprocess.run(
        [str(composecheck), "docker-compose.yml"], cwd=tmp_path, capture_output=True, check=False
    )
    assert proc.returncode != 0


def manifests(project: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((project / "deploy" / "kubernetes").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def test_kubernetes_manifests_match_the_schemas(project: Path) -> None:
    files = [
        p
        for p in sorted((project / "deploy" / "kubernetes").glob("*.yaml"))
        if p.name != "kustomization.yaml"
    ]
    assert files
    proc = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kustomization = yaml.safe_load((project / "deploy" / "kubernetes" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in files)


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """Checks of the Pod Security Standards' restricted profile (kubernetes.io/docs/concepts/security/
    pod-security-standards) that apply to a pod template."""
    problems = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            problems.append(f"{field} must be unset or false")
    pod_sc = pod.get("securityContext", {})
    for volume in pod.get("volumes", []):
        allowed = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim"}
        allowed |= {"projected", "secret", "name"}
        if set(volume) - allowed:
            problems.append(f"volume {volume['name']} has a restricted type")
    for c in pod.get("initContainers", []) + pod["containers"]:
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
        if any(p.get("hostPort") for p in c.get("ports", [])):
            problems.append(f"{name}: hostPort")
    return problems


def test_pods_meet_the_restricted_pod_security_standard(project: Path) -> None:
    pods = [d["spec"]["template"]["spec"] for d in manifests(project) if d["kind"] == "Deployment"]
    assert pods
    for pod in pods:
        assert restricted_violations(pod) == []
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_restricted_check_catches_a_privileged_pod() -> None:
    pod = {"containers": [{"name": "x", "securityContext": {"privileged": True}}], "hostNetwork": True}
    assert len(restricted_violations(pod)) >= 5


def test_grace_period_covers_the_shutdown(project: Path) -> None:
    (deployment,) = [d for d in manifests(project) if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"] if "value" in e}

    def seconds(v: str) -> float:
        return float(v.removesuffix("s"))

    budget = seconds(env["SHUTDOWN_DRAIN_DELAY"]) + seconds(env["SHUTDOWN_TIMEOUT"])
    assert pod["terminationGracePeriodSeconds"] > budget


def test_kubernetes_sets_the_admin_address_and_the_memory_limit(project: Path) -> None:
    """The admin listener binds the pod IP for Prometheus; the service learns its memory limit from the
    downward API, in bytes, so that it can leave the GC headroom below it."""
    (deployment,) = [d for d in manifests(project) if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["ADMIN_ADDR"]["value"] == ":9090"
    assert "GOMEMLIMIT" not in env, "GOMEMLIMIT would override the service's headroom"
    field = env["CONTAINER_MEMORY_LIMIT"]["valueFrom"]["resourceFieldRef"]
    assert field["resource"] == "limits.memory"
    assert field.get("containerName", container["name"]) == container["name"]
    assert str(field.get("divisor", "1")) == "1", "the service reads bytes"
    assert container["resources"]["limits"]["memory"]


def test_env_example_names_the_new_defaults(project: Path) -> None:
    settings = dict(
        line.split("=", 1)
        for line in (project / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert settings["ADMIN_ADDR"] == "127.0.0.1:9090"
    assert settings["HTTP_MAX_HEADER_BYTES"] == str(64 << 10)
    assert settings["READINESS_INTERVAL"] == "2s"
