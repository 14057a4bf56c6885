"""deploy/observability/: the alert rules pass `promtool check rules` and their unit tests
(`make test-alerts`) for every combination of the answers that change them, where each alert fires
in one case and stays quiet in another and names a runbook section that exists; a broken rule and
a wrong expectation fail. A real Prometheus (Debian's, started here on loopback) loads the rules
and scrapes a running service under traffic (2xx, 4xx and 5xx); then every expression of the
dashboard, and of each alert without its threshold, returns data, and every metric they name is
one Prometheus has, but those of other exporters, listed below with their reason. The
PrometheusRule component holds the same groups as alerts.yml."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_deploy import build, kustomize, newest_kubernetes_versions, unknown_kinds, validate

from conftest import Render, answers_of
from service import Launcher, Service, free_port
from tooling.servers import prometheus_program
from tooling.variants import choices

__all__ = ["kustomize"]  # a fixture, used by name

# The answers that change the rules, the unit tests or the dashboard, every combination of them.
RULE_QUESTIONS = ("database", "cache", "background_worker")
RULE_COMBINATIONS = [
    dict(zip(RULE_QUESTIONS, values, strict=True))
    for values in itertools.product(*([c.value for c in choices(q) if c.available] for q in RULE_QUESTIONS))
]


def combination_id(answers: dict[str, Any]) -> str:
    return "-".join(f"{k}={v}" for k, v in answers.items())


# Metrics other exporters give Prometheus, which a service alone never has: an expression reading
# one is not evaluated, and its name is not looked for.
NOT_THE_SERVICES = {
    "kube_pod_container_status_restarts_total": "kube-state-metrics exports it (PodRestarting)",
}
# The window the dashboard's $__rate_interval is given here: Prometheus scrapes every second.
RATE_INTERVAL = "1m"
COMPARISON = re.compile(r"\s*(?:>|<|>=|<=|==|!=)\s*(?:bool\s+)?[\d.()*\s]+$")
SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)\{")


def promtool() -> str:
    found = prometheus_program("promtool")
    if found is None:
        pytest.fail(
            "promtool is missing: the tests session installs Debian's prometheus (tooling/servers.py)"
        )
    return str(found)


def make_test_alerts(project: Path) -> subprocess.CompletedProcess[str]:
    """`make test-alerts` with Debian's promtool rather than the pinned one it would build."""
    return subprocess.run(
        ["make", "test-alerts", f"PROMTOOL={promtool()}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def alert_rules(project: Path) -> list[dict[str, Any]]:
    groups = yaml.safe_load((project / "deploy/observability/alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def runbook_anchors(project: Path) -> set[str]:
    """The anchors of docs/runbook.md's headings, as GitHub and GitLab make them."""
    headings = re.findall(r"^#+ (.+)$", (project / "docs/runbook.md").read_text(), re.M)
    return {re.sub(r"[^\w -]", "", h.lower()).replace(" ", "-") for h in headings}


def distinct_targets(series: list[str]) -> set[str]:
    """The pods and instances a test's input series stand for."""
    return {m for s in series for m in re.findall(r'(?:instance|pod)="([^"]+)"', s)}


def quiet_and_firing(unit_tests: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The alerts some case expects to fire, and those some case expects to stay quiet: no alert
    at all, or alerts for fewer pods than the case's input series stand for."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in unit_tests["tests"]:
        targets = distinct_targets([s["series"] for s in case["input_series"]])
        for check in case["alert_rule_test"]:
            expected = check.get("exp_alerts") or []
            if expected:
                firing.add(check["alertname"])
            fired_for = {v for e in expected for k, v in e["exp_labels"].items() if k in ("instance", "pod")}
            if not expected or (fired_for and fired_for < targets):
                quiet.add(check["alertname"])
    return firing, quiet


@pytest.mark.parametrize("combination", RULE_COMBINATIONS, ids=combination_id)
def test_alert_rules_pass_promtool(render: Render, combination: dict[str, Any]) -> None:
    project = render(combination)
    proc = make_test_alerts(project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = alert_rules(project)
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout
    unit_tests = yaml.safe_load((project / "deploy/observability/alerts_test.yml").read_text())
    names = {rule["alert"] for rule in rules}
    firing, quiet = quiet_and_firing(unit_tests)
    assert names - firing == set(), "alerts no case expects to fire"
    assert names - quiet == set(), "alerts no case expects to stay quiet"
    anchors = runbook_anchors(project)
    for rule in rules:
        page, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/runbook.md"
        assert anchor in anchors, f"{rule['alert']}: docs/runbook.md has no section #{anchor}"
        assert rule["labels"]["severity"] in ("page", "ticket")
    # The dependencies' alerts follow the answers.
    assert ("PostgresDown" in names) == (combination["database"] == "postgres")
    assert ("RedisDown" in names) == (combination["cache"] == "redis")
    assert ("WorkerQueueFull" in names) == combination["background_worker"]


@pytest.mark.parametrize(
    ("file", "old", "new", "says"),
    [
        # A rule that does not parse.
        ("alerts.yml", "sum(rate(", "sum(rate((", "could not parse expression"),
        # A unit test that expects the wrong severity.
        ("alerts_test.yml", "severity: page", "severity: ticket", "FAILED"),
        # A threshold the unit tests' traffic no longer crosses.
        ("alerts.yml", "(14.4 * 0.001)", "(50 * 0.001)", "FAILED"),
        # A rule that reads a metric nobody exports never fires.
        ("alerts.yml", "process_open_fds{", "process_open_file_descriptors{", "FAILED"),
    ],
    ids=["unparsable-rule", "wrong-expectation", "wrong-threshold", "unknown-metric"],
)
def test_promtool_catches_a_broken_rule(
    render: Render, tmp_path: Path, file: str, old: str, new: str, says: str
) -> None:
    project = tmp_path / "project"
    shutil.copytree(render({}), project)
    path = project / "deploy/observability" / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    proc = make_test_alerts(project)
    assert proc.returncode != 0
    assert says in proc.stdout + proc.stderr


@pytest.mark.parametrize("combination", RULE_COMBINATIONS, ids=combination_id)
def test_prometheusrule_component_holds_the_alert_rules(
    render: Render, combination: dict[str, Any], kustomize: Path, tmp_path: Path
) -> None:
    """The prod overlay's commented components, uncommented as its comment says, add a
    PrometheusRule whose groups are alerts.yml's. It is a custom resource, which
    kubernetes-validate does not know: every other object is validated strictly."""
    project = render(combination)
    copy = tmp_path / "kubernetes"
    shutil.copytree(project / "deploy/kubernetes", copy)
    kustomization = copy / "overlays/prod/kustomization.yaml"
    text = kustomization.read_text()
    enabled = re.sub(r"^# (components:\n)((?:#   - \S+\n)+)", r"\1", text, flags=re.M)
    lines = re.findall(r"^#(   - \S+/(?:servicemonitor|prometheusrule)\n)", text, flags=re.M)
    assert len(lines) == 2, "the prod overlay lacks the commented components"
    enabled = enabled.replace("components:\n", "components:\n" + "".join(lines), 1)
    kustomization.write_text(enabled)
    docs = build(kustomize, copy / "overlays/prod")
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["name"] == answers_of(project)["project_name"]
    assert rule["metadata"]["namespace"] == answers_of(project)["project_name"]
    assert set(rule["spec"]) == {"groups"}
    alerts = yaml.safe_load((project / "deploy/observability/alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]
    for group in rule["spec"]["groups"]:
        assert set(group) == {"name", "rules"}
        for r in group["rules"]:
            assert set(r) <= {"alert", "expr", "for", "labels", "annotations"}
            assert isinstance(r["expr"], str)
    version = newest_kubernetes_versions(1)[0]
    proc = validate(docs, tmp_path, version)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert unknown_kinds(proc) == {"ServiceMonitor", "PrometheusRule"}


# -- a real Prometheus --------------------------------------------------------------------------------


class Prometheus:
    """Debian's Prometheus on a free loopback port, with its own configuration and data directory,
    scraping one target every second and evaluating the rules files given."""

    def __init__(self, directory: Path, job: str, target: str, rule_files: list[Path]) -> None:
        exe = prometheus_program("prometheus")
        if exe is None:
            pytest.fail("prometheus is missing: the tests session installs Debian's prometheus")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(f) for f in rule_files],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}],
        }
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.log = directory / "prometheus.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(exe),
                    f"--config.file={directory / 'prometheus.yml'}",
                    f"--storage.tsdb.path={directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not self.ready():
            assert self.proc.poll() is None, f"prometheus exited:\n{self.log.read_text()}"
            assert time.monotonic() < deadline, f"prometheus did not get ready:\n{self.log.read_text()}"
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", (expr, data)
        result: list[dict[str, Any]] = data["result"]
        return result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[list[Prometheus]]:
    started: list[Prometheus] = []
    yield started
    for p in started:
        p.stop()


def dashboard_exprs(project: Path, job: str) -> list[str]:
    """The dashboard's queries, with its variables as Grafana would fill them in."""
    dashboard = json.loads((project / "deploy/observability/dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return [e.replace("$job", job).replace("$__rate_interval", RATE_INTERVAL) for e in exprs]


def signals(expr: str) -> list[str]:
    """An alert's expression without its thresholds: each operand of its top-level `and` (written
    on a line of its own), without the comparison at its end."""
    parts = re.split(r"^\s*and\s*$", expr.strip(), flags=re.M)
    found = []
    for part in parts:
        lhs = COMPARISON.sub("", part.strip())
        assert lhs != part.strip(), f"no threshold at the end of {part!r}"
        found.append(lhs)
    return found


# How the expressions over 5xx answers select them.
FIVE_XX = 'code=~"5.."'


def budget_refusals(service: Service, answers: dict[str, Any]) -> int:
    """503s of the body budget, which holds one body. With the example API, a note whose body
    never comes holds the budget while the next requests are refused; without it no route reads a
    body, so bodies are sent from several clients at once until two of them meet."""
    if not answers["example_api"]:
        refused = 0
        deadline = time.monotonic() + 20
        while not refused and time.monotonic() < deadline:
            statuses = service.flood("POST", "/version", 1.0, clients=8, body=b"x" * 1024)
            refused = statuses.count(503)
        return refused
    refused = 0
    holder = socket.create_connection(("127.0.0.1", service.http_port), timeout=5)
    try:
        holder.sendall(
            b"POST /v1/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1024\r\n\r\n{"
        )
        time.sleep(0.2)
        for _ in range(5):
            refused += service.post_json("/v1/notes", {"title": "refused", "body": "x"}).status == 503
    finally:
        holder.close()
    return refused


def traffic(service: Service, answers: dict[str, Any]) -> dict[int, int]:
    """Answers of every kind: 2xx, 404, 405 and 413, and 503s of the body budget; with the example
    API, notes created and read (the store, the cache) and a note that does not exist."""
    statuses: dict[int, int] = {}

    def count(status: int, times: int = 1) -> None:
        statuses[status] = statuses.get(status, 0) + times

    for _ in range(20):
        count(service.get("/version").status)
        count(service.get("/no-such-route").status)
    count(service.request("DELETE", "/version").status)
    count(service.request("POST", "/version", body=b"x" * 4096).status)
    if answers["example_api"]:
        for i in range(10):
            created = service.post_json("/v1/notes", {"title": f"note {i}", "body": "observed"})
            count(created.status)
            for _ in range(3):
                count(service.get(f"/v1/notes/{created.json()['id']}").status)
        count(service.get("/v1/notes/no-such-note").status)
    count(503, budget_refusals(service, answers))
    return statuses


@pytest.mark.slow
def test_prometheus_evaluates_every_expression(
    project: Path, launch: Launcher, answers: dict[str, Any], tmp_path: Path, prometheus_for: list[Prometheus]
) -> None:
    job = answers["project_name"]
    # A body budget of one small body, so that a request holding it gets the next ones refused (503).
    service = launch(MAX_BODY_BYTES="1024", BODY_BUDGET_BYTES="1024")
    rules = project / "deploy/observability/alerts.yml"
    prometheus = Prometheus(tmp_path, job, f"127.0.0.1:{service.admin_port}", [rules])
    prometheus_for.append(prometheus)
    statuses = traffic(service, answers)
    # Without the example API no route reads a body, so no 5xx can be made for certain: bodies are
    # flooded at the budget until two meet (budget_refusals), which may not happen. Then the
    # expressions over 5xx answers have no series to return: they are still checked to name metrics
    # that exist, and must return data in every variant with the example API.
    without_5xx = statuses.get(503, 0) == 0
    assert not (without_5xx and answers["example_api"]), f"no 5xx answer to observe: {statuses}"
    assert any(400 <= s < 500 for s in statuses), f"no 4xx answer to observe: {statuses}"
    # Enough scrapes after the traffic for every rate to have two samples of every series.
    last = "404" if without_5xx else "503"
    deadline = time.monotonic() + 60
    while not prometheus.query(f'count_over_time(http_requests_total{{job="{job}",code="{last}"}}[1m]) >= 4'):
        assert time.monotonic() < deadline, f"Prometheus did not scrape the service's {last}s"
        time.sleep(0.5)
    groups = prometheus.api("rules")["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"]}
    assert loaded == {r["alert"] for r in alert_rules(project)}, "Prometheus did not load every rule"
    assert all(r["health"] == "ok" for g in groups for r in g["rules"]), groups

    names = set(prometheus.api("label/__name__/values"))
    exprs = [("dashboard", e) for e in dashboard_exprs(project, job)]
    exprs += [(rule["alert"], s) for rule in alert_rules(project) for s in signals(rule["expr"])]
    evaluated, skipped, empty, unknown = 0, [], [], []
    for origin, expr in exprs:
        metrics = set(SELECTOR.findall(expr))
        assert metrics, f"{origin}: no metric selector found in {expr}"
        if metrics & NOT_THE_SERVICES.keys():
            skipped.append((origin, expr))
            continue
        unknown += [(origin, m) for m in metrics - names]
        evaluated += 1
        if not prometheus.query(expr) and not (without_5xx and FIVE_XX in expr):
            empty.append((origin, expr))
    # The checks below catch a metric nobody exports: its name is unknown, and it has no data.
    bad = f'sum(rate(http_request_total{{job="{job}"}}[{RATE_INTERVAL}]))'
    assert set(SELECTOR.findall(bad)) - names == {"http_request_total"}
    assert prometheus.query(bad) == []
    # The dashboard's job variable lists the jobs of a metric every build exports.
    dashboard = json.loads((project / "deploy/observability/dashboard.json").read_text())
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            (metric,) = re.findall(r"^label_values\((\w+), job\)$", variable["query"]["query"])
            unknown += [("dashboard variable", metric)] if metric not in names else []
            assert prometheus.query(f'{metric}{{job="{job}"}}'), f"{metric} has no series of job {job}"
    assert not unknown, f"metrics Prometheus does not have: {unknown}"
    assert not empty, "expressions that returned no data:\n" + "\n".join(f"{o}: {e}" for o, e in empty)
    assert {origin for origin, _ in skipped} == {"PodRestarting"}, skipped
    series = len(prometheus.query('{job="' + job + '"}'))
    print(
        f"\n{job}: {evaluated} expressions evaluated, {len(skipped)} skipped ({skipped}); "
        f"{len(names)} metric names; answers {statuses}; "
        f"{series} series"
    )
