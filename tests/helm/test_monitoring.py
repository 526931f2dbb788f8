"""Operating the release: scraping, self-alerts, a Grafana dashboard, network policy, helm test."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_tool
from tests.helm.conftest import FULLNAME, Helm, Rendered, ci_values

pytestmark = pytest.mark.helm

EXPORTED = [
    "watchdog_budget_spend_usd",
    "watchdog_budget_limit_usd",
    "watchdog_budget_utilisation_ratio",
    "watchdog_budget_forecast_usd",
    "watchdog_budget_time_to_exhaustion_seconds",
    "watchdog_alerts_sent_total",
    "watchdog_alerts_failed_total",
    "watchdog_alerts_suppressed_total",
    "watchdog_source_up",
    "watchdog_source_last_success_timestamp_seconds",
    "watchdog_cycle_duration_seconds",
]


@pytest.fixture(scope="module")
def monitoring(helm: Helm) -> Rendered:
    return helm.template(ci_values("monitoring"))


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_service_monitor_scrapes_the_metrics_port(monitoring: Rendered) -> None:
    """The ServiceMonitor selects the Service and scrapes /metrics on its named port."""
    monitor = monitoring.one("ServiceMonitor")
    service = monitoring.one("Service")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["finops"]}
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


def test_dashboard_is_picked_up_by_grafana(monitoring: Rendered) -> None:
    """The dashboard ConfigMap carries Grafana's sidecar label and valid dashboard JSON."""
    configmap = monitoring.config_map("dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Budgets"}
    dashboard = json.loads(configmap["data"]["watchdog.json"])
    assert dashboard["uid"] == "watchdog-budgets"
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"datasource", "job"}


@pytest.mark.parametrize("metric", EXPORTED)
def test_dashboard_charts_every_exported_metric(monitoring: Rendered, metric: str) -> None:
    """Each metric the daemon exports is queried by at least one panel."""
    dashboard = json.loads(monitoring.config_map("dashboard")["data"]["watchdog.json"])
    exprs = [t["expr"] for p in _panels(dashboard) for t in p["targets"]]
    assert any(metric in expr for expr in exprs)


def test_dashboard_panels_do_not_overlap(monitoring: Rendered) -> None:
    """Panels sit side by side on the 24-column grid without overlapping."""
    dashboard = json.loads(monitoring.config_map("dashboard")["data"]["watchdog.json"])
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, panel["title"]
        cells |= area


def test_prometheus_rule_alerts_on_watchdog_itself(monitoring: Rendered) -> None:
    """The PrometheusRule watches sources, rules, deliveries, the leader and the loop."""
    [group] = monitoring.one("PrometheusRule")["spec"]["groups"]
    alerts = {r["alert"]: r for r in group["rules"]}
    assert set(alerts) == {
        "WatchdogSourceDown",
        "WatchdogRulesInvalid",
        "WatchdogDeliveryFailing",
        "WatchdogDeadLetters",
        "WatchdogNoLeader",
        "WatchdogCyclesStalled",
    }
    down = alerts["WatchdogSourceDown"]
    assert f'watchdog_source_up{{job="{FULLNAME}"}}' in down["expr"]
    assert down["annotations"]["summary"] == "watchdog cannot read {{ $labels.source }}"
    assert all(r["labels"] == {"severity": "warning"} for r in alerts.values())


def _promtool_check(groups: list[dict[str, Any]], tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_rule_passes_promtool(monitoring: Rendered, tmp_path: Path) -> None:
    """promtool accepts the rendered alerting rules (PromQL and templates)."""
    _promtool_check(monitoring.one("PrometheusRule")["spec"]["groups"], tmp_path)


def test_dashboard_queries_are_valid_promql(monitoring: Rendered, tmp_path: Path) -> None:
    """Every dashboard query parses as PromQL once Grafana's variables are filled in."""
    dashboard = json.loads(monitoring.config_map("dashboard")["data"]["watchdog.json"])
    filled = {"$__rate_interval": "5m", "$job": ".*", "$rule": ".*", "$scope": ".*"}
    rules = []
    for n, target in enumerate(t for p in _panels(dashboard) for t in p["targets"]):
        expr = target["expr"]
        for variable, value in filled.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query{n}", "expr": expr})
    assert len(rules) > 15
    _promtool_check([{"name": "dashboard", "rules": rules}], tmp_path)


def test_network_policy_limits_ingress_and_egress(monitoring: Rendered) -> None:
    """The NetworkPolicy admits scrapes from monitoring and allows DNS plus the listed egress."""
    policy = monitoring.one("NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    [ingress] = policy["ingress"]
    assert ingress["ports"] == [{"port": 9464, "protocol": "TCP"}]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    dns, litellm, _ = policy["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert litellm["ports"] == [{"port": 4000, "protocol": "TCP"}]


def test_network_policy_can_leave_egress_open(helm: Helm) -> None:
    """allowExternalEgress (the default) restricts ingress only."""
    policy = helm.template(sets={"networkPolicy.enabled": "true"}).one("NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert "egress" not in policy


def test_helm_test_checks_rules_then_readiness(helm: Helm) -> None:
    """The test hook validates the deployed config and rules, then calls /health/readiness."""
    rendered = helm.template(ci_values("postgres-ha"))
    pod = rendered.one("Pod", f"{FULLNAME}-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    [check] = pod["spec"]["initContainers"]
    assert check["args"] == ["check", "--config", "/etc/watchdog/config/watchdog.yaml"]
    assert {e["name"] for e in check["env"]} >= {"LITELLM_MASTER_KEY", "SLACK_BOT_TOKEN"}
    [probe] = pod["spec"]["containers"]
    assert probe["args"] == [f"http://{FULLNAME}.finops.svc:9464/health/readiness"]
    for container in check, probe:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["image"] == rendered.container()["image"]


def test_helm_test_can_be_turned_off(helm: Helm) -> None:
    """testFramework.enabled: false renders no test pod."""
    assert "Pod" not in helm.template(sets={"testFramework.enabled": "false"}).kinds


@pytest.mark.parametrize(
    "line",
    [
        "budget-watchdog check",
        "budget-watchdog preview --firing",
        "budget-watchdog reset --dry-run",
        "/health/readiness",
        "/metrics",
        "helm test budgets -n finops",
    ],
)
def test_notes_say_how_to_check_and_where_to_look(helm: Helm, line: str) -> None:
    """NOTES.txt shows how to check rules, preview, and where health and metrics live."""
    assert line in helm.notes(ci_values("postgres-ha"))


def test_notes_warn_about_an_ephemeral_ledger(helm: Helm) -> None:
    """NOTES warns when the SQLite ledger would not survive a new pod, and only then."""
    warning = "the SQLite ledger is on an emptyDir"
    assert warning in helm.notes()
    assert warning not in helm.notes(ci_values("pvc"))
    assert warning not in helm.notes(ci_values("postgres-ha"))
