"""The Grafana dashboard and the Prometheus rules work against a real Medic.

`promtool check rules` accepts deploy/prometheus/medic-rules.yml; the rules carry the
runbook's warning and critical thresholds (seed 002, "Key Metrics to Monitor") and the
stalled-scheduler alert. Then a real `medic up` gets heartbeats, one failure (an alert
opens and is delivered to a webhook) and one playbook run, Debian's `prometheus`
scrapes it every second, and every query of every panel in dashboards/grafana.json and
every rule is evaluated through Prometheus' HTTP API: none fails, and the ingest and
alerts panels show data.

Needs the `prometheus` Debian package (/usr/bin/prometheus, /usr/bin/promtool); CI
installs it, and without it these tests skip with that reason.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fakes.receiver import Receiver
from tests.processes import MedicUp, stop_process, wait_for

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboards" / "grafana.json"
RULES = ROOT / "deploy" / "prometheus" / "medic-rules.yml"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
# What Grafana substitutes for its built-in variables, at a 1 s scrape interval.
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
PLAYBOOK = """
name: settle
approval: none
steps:
  - name: settle
    type: wait
    duration: 1s
"""

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed: `apt-get install prometheus` (CI installs it)",
)
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="prometheus is not installed: `apt-get install prometheus` (CI installs it)",
)


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def rules() -> list[dict[str, Any]]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def panel_queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target of every panel, rows' panels included,
    with Grafana's variables replaced as Grafana would ("All" for a multi-value one)."""
    values = dict(GRAFANA_BUILTINS)
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            values[variable["name"]] = variable["allValue"]

    def substitute(expr: str) -> str:
        pattern = r"\$\{(\w+)\}|\$(\w+)"
        return re.sub(pattern, lambda m: values[m.group(1) or m.group(2)], expr)

    queries = []
    for panel in board["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []):
                queries.append((inner["title"], substitute(target["expr"])))
    return queries


def test_the_dashboard_imports_with_a_prometheus_datasource_input() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39
    assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"]
    names = [v["name"] for v in board["templating"]["list"]]
    assert "DS_PROMETHEUS" in names
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    for panel in panels:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]
    titles = " | ".join(p["title"] for p in panels).lower()
    for subject in (
        "heartbeat ingest",
        "alerts active",
        "deadline → notification",
        "scheduler pass",
        "delivery results by target kind",
        "playbook executions",
        "playbook step durations",
        "http latency",
        "errors",
        "auth failures",
    ):
        assert subject in titles


def test_every_panel_query_names_only_metrics_medic_exports() -> None:
    """A typo in a metric name would evaluate fine, to nothing, forever."""
    from prometheus_client import REGISTRY

    from medic.api import health  # noqa: F401  (registers medic_alerts_active)

    exported = {family.name for family in REGISTRY.collect()}
    exported |= {"medic_alerts_active", "medic_scheduler_overdue_seconds"}
    for title, expr in panel_queries(dashboard()):
        for metric in re.findall(r"\b(medic_\w+?)(?:_bucket|_count|_sum|_total)?\b", expr):
            assert metric in exported, f"{title}: {metric} is not a Medic metric"


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    checked = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_the_rules_carry_the_runbooks_thresholds_with_severities_and_annotations() -> None:
    by_name = {rule["alert"]: rule for rule in rules()}
    expected = {
        "MedicAlertsActiveWarning": ("medic_alerts_active", "> 5", "warning"),
        "MedicAlertsActiveCritical": ("medic_alerts_active", "> 10", "critical"),
        "MedicHttpLatencyHigh": ("histogram_quantile(0.95", "> 1", "warning"),
        "MedicHttpLatencyCritical": ("histogram_quantile(0.95", "> 5", "critical"),
        "MedicDatabaseConnectionErrorsWarning": ("* 60", "> 0.1", "warning"),
        "MedicDatabaseConnectionErrorsCritical": ("* 60", "> 1", "critical"),
        "MedicSchedulerStalled": ("medic_scheduler_overdue_seconds", "> 300", "critical"),
        "MedicSchedulerNotPassing": (
            "medic_scheduler_last_pass_timestamp_seconds",
            "> 300",
            "critical",
        ),
    }
    assert set(by_name) == set(expected)
    for name, (metric, threshold, severity) in expected.items():
        rule = by_name[name]
        assert metric in rule["expr"], name
        assert re.search(re.escape(threshold) + r"(\s|$)", rule["expr"]), name
        assert rule["labels"]["severity"] == severity, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> dict[str, Any]:
        """The API's answer to an instant query (status, data or error)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=30)
        body: dict[str, Any] = response.json()
        return body

    def result(self, expr: str) -> list[dict[str, Any]]:
        body = self.query(expr)
        assert body["status"] == "success", f"{expr}: {body}"
        results: list[dict[str, Any]] = body["data"]["result"]
        return results

    def rules(self) -> list[dict[str, Any]]:
        body = httpx.get(f"{self.url}/api/v1/rules", timeout=30).json()
        assert body["status"] == "success", body
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]


@pytest.fixture
def prometheus_for(
    tmp_path: Path, free_tcp_port_factory: Callable[[], int]
) -> Iterator[Callable[[str], Prometheus]]:
    """`prometheus_for(medic_url)`: a Prometheus scraping that Medic every second and
    evaluating the rules file every second, its data in tmp_path."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(target_url: str) -> Prometheus:
        port = free_tcp_port_factory()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(RULES)],
                    "scrape_configs": [
                        {
                            "job_name": "medic",
                            "metrics_path": "/metrics",
                            "static_configs": [{"targets": [target_url.split("://", 1)[1]]}],
                        }
                    ],
                }
            )
        )
        log = tmp_path / "prometheus.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    str(PROMETHEUS),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                cwd=tmp_path,
                stdout=output,
                stderr=output,
            )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert process.poll() is None, log.read_text()
            try:
                return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("prometheus ready", ready, 30)
        return Prometheus(url)

    yield start
    for process in processes:
        stop_process(process)


def _give_medic_something_to_report(medic: MedicUp, receiver: Receiver) -> None:
    """Heartbeats, one service failing (its alert delivered to a webhook), a rejected
    key, one playbook run."""
    medic.results(
        "POST",
        "/v2/notification-targets",
        json={"name": "ops-hook", "kind": "webhook", "config": {"url": f"{receiver.url}/hook"}},
    )
    medic.results(
        "POST",
        "/v2/routing-policies",
        json={"name": "default", "rules": [{"targets": ["ops-hook"]}]},
    )
    for name in ("nightly-etl", "billing-sync"):
        medic.results(
            "POST",
            "/service",
            json={"heartbeat_name": name, "service_name": name, "alert_interval": 5},
        )
        medic.results("POST", "/v2/heartbeats", json={"heartbeat_name": name, "status": "UP"})
    medic.results(
        "POST", "/v2/heartbeats", json={"heartbeat_name": "billing-sync", "status": "FAILED"}
    )
    assert (
        medic.call("GET", "/v2/services", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    medic.results(
        "POST", "/v2/playbooks", content=PLAYBOOK, headers={"Content-Type": "application/yaml"}
    )
    execution = medic.results(
        "POST", "/v2/playbooks/settle/execute", json={"reason": "metrics test"}
    )

    def playbook_done() -> bool:
        view = medic.results("GET", f"/v2/executions/{execution['execution_id']}")
        return view["state"] in ("completed", "failed")

    wait_for("the alert to open", lambda: medic.results("GET", "/v2/alerts"), 30)
    wait_for("the alert delivered to the webhook", lambda: receiver.requests, 30)
    wait_for("the playbook run to end", playbook_done, 30)


@needs_prometheus
def test_prometheus_evaluates_every_dashboard_query_and_rule_against_medic_up(
    medic_up: MedicUp, prometheus_for: Callable[[str], Prometheus], webhook_receiver: Receiver
) -> None:
    _give_medic_something_to_report(medic_up, webhook_receiver)
    prometheus = prometheus_for(medic_up.url)
    queries = dict((title, expr) for title, expr in reversed(panel_queries(dashboard())))

    # A rate needs two scrapes of the counter.
    ingest = wait_for(
        "the ingest panel to show data",
        lambda: prometheus.result(queries["Heartbeat ingest by status"]),
        30,
    )
    assert {series["metric"]["status"] for series in ingest} == {"UP", "FAILED"}
    (alerts,) = prometheus.result(queries["Alerts active"])
    assert float(alerts["value"][1]) == 1

    for title, expr in panel_queries(dashboard()):
        body = prometheus.query(expr)
        assert body["status"] == "success", f"{title}: {expr}: {body.get('error')}"
        assert "error" not in body, f"{title}: {expr}: {body}"

    # The metrics this work added are fed on their real code paths.
    assert prometheus.result(
        "medic_alert_notification_latency_seconds_count{target_kind='webhook'} > 0"
    )
    assert prometheus.result("medic_scheduler_last_pass_timestamp_seconds > 0")
    (overdue,) = prometheus.result("medic_scheduler_overdue_seconds")
    assert float(overdue["value"][1]) < 300
    assert prometheus.result("medic_playbook_executions_total > 0")

    def every_rule_evaluated() -> list[dict[str, Any]] | None:
        evaluated = prometheus.rules()
        done = all(
            r["health"] != "unknown" and r.get("lastEvaluation", "").startswith("2")
            for r in evaluated
        )
        return evaluated if evaluated and done else None

    evaluated = wait_for("every rule evaluated once", every_rule_evaluated, 30)
    assert {rule["name"] for rule in evaluated} == {rule["alert"] for rule in rules()}
    for rule in evaluated:
        assert rule["health"] == "ok" and not rule.get("lastError"), rule
        body = prometheus.query(rule["query"])
        assert body["status"] == "success", f"{rule['name']}: {body}"
    # Medic is healthy here: nothing fires.
    assert [r["name"] for r in evaluated if r["state"] == "firing"] == []
