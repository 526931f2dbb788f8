"""Rule files in the chart: the ConfigMap finance edits, and how changes reach the pod."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.conftest import FULLNAME, Helm, ci_values
from watchdog.rule_files import load_rules

pytestmark = pytest.mark.helm

TEAMS = """budgets:
  - name: Team budgets (LiteLLM)
    scope: team
    match: "*"
    alert_at: [50%, 90%]
"""


def _rules(**files: str) -> dict[str, object]:
    return {"rules": {"files": {f"{name}.yaml": text for name, text in files.items()}}}


def test_rule_files_become_a_configmap_the_daemon_accepts(helm: Helm, tmp_path: Path) -> None:
    """Each entry of rules.files is one file in the ConfigMap, and the daemon loads them all."""
    data = helm.template(ci_values("postgres-ha")).config_map("rules")["data"]
    assert set(data) == {"teams.yaml"}
    for name, text in data.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    ruleset = load_rules([tmp_path])
    assert [rule.name for rule in ruleset.rules] == ["Team budgets (LiteLLM)"]


def test_rule_file_text_is_kept_verbatim(helm: Helm) -> None:
    """The ConfigMap holds the file as written (comments and layout included)."""
    text = "# Owned by finance.\n" + TEAMS
    data = helm.template(values=_rules(teams=text)).config_map("rules")["data"]
    assert data["teams.yaml"] == text


@pytest.mark.parametrize(
    ("values", "sets", "rolls"),
    [
        pytest.param(_rules(teams=TEAMS.replace("50%", "60%")), {}, True, id="a threshold"),
        pytest.param(_rules(teams=TEAMS, keys=TEAMS), {}, True, id="a new file"),
        pytest.param(
            _rules(teams=TEAMS),
            {"resources.limits.memory": "512Mi"},
            False,
            id="an unrelated value",
        ),
        pytest.param(
            _rules(teams=TEAMS), {"config.poll_interval": "5m"}, False, id="the ops config"
        ),
    ],
)
def test_checksum_rolls_the_pod_when_rules_change(
    helm: Helm, values: dict[str, object], sets: dict[str, str], rolls: bool
) -> None:
    """checksum/rules changes exactly when the rule files change."""
    before = helm.template(values=_rules(teams=TEAMS)).pod_annotations()["checksum/rules"]
    after = helm.template(values=values, sets=sets).pod_annotations()["checksum/rules"]
    assert (after != before) is rolls


def test_rules_can_be_left_to_hot_reload(helm: Helm) -> None:
    """rollOnChange: false drops the checksum; the mounted directory still updates in place."""
    rendered = helm.template(ci_values("pvc"))
    assert "checksum/rules" not in rendered.pod_annotations()
    mount = next(m for m in rendered.container()["volumeMounts"] if m["name"] == "watchdog-rules")
    assert mount == {"name": "watchdog-rules", "mountPath": "/etc/watchdog/rules", "readOnly": True}
    assert "subPath" not in mount  # a subPath mount would never see ConfigMap updates


def test_an_existing_configmap_is_mounted_instead(helm: Helm) -> None:
    """rules.existingConfigMap is mounted as is; the chart renders no rules of its own."""
    rendered = helm.template(ci_values("existing-secret"))
    assert f"{FULLNAME}-rules" not in {m["metadata"]["name"] for m in rendered.all("ConfigMap")}
    volumes = rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "watchdog-rules", "configMap": {"name": "finance-budget-rules"}} in volumes
    assert "checksum/rules" not in rendered.pod_annotations()


def test_without_rules_the_image_defaults_are_used(helm: Helm) -> None:
    """No rules.files and no existingConfigMap: nothing is mounted over the image's rules."""
    rendered = helm.template()
    paths = [m["mountPath"] for m in rendered.container()["volumeMounts"]]
    assert "/etc/watchdog/rules" not in paths
    assert "the defaults baked into the image" in helm.notes()
