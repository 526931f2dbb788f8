"""Sidecar mode: values for LiteLLM's chart that put watchdog in each LiteLLM pod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.conftest import FULLNAME, Helm, Manifest, Rendered, ci_values
from watchdog import config

pytestmark = pytest.mark.helm

LITELLM_VOLUMES = {"litellm-config", "tmp", "cache", "npm"}
"""Volumes LiteLLM's own charts define in the pod."""


@pytest.fixture(scope="module")
def sidecar(helm: Helm) -> Rendered:
    return helm.template(ci_values("sidecar"))


def _litellm_values(rendered: Rendered) -> dict[str, Any]:
    text = rendered.config_map("litellm-values")["data"]["values.yaml"]
    values: dict[str, Any] = yaml.safe_load(text)
    return values


def _only_container(values: dict[str, Any]) -> Manifest:
    [container] = values["extraContainers"]
    return container  # type: ignore[no-any-return]


def test_values_add_one_container_and_its_volumes(sidecar: Rendered) -> None:
    """For the litellm-helm chart: top-level extraContainers and volumes, nothing else."""
    values = _litellm_values(sidecar)
    assert set(values) == {"extraContainers", "volumes"}
    assert _only_container(values)["name"] == "watchdog"
    names = {v["name"] for v in values["volumes"]}
    assert names == {"watchdog-config", "watchdog-rules", "watchdog-state", "watchdog-tmp"}
    assert not names & LITELLM_VOLUMES


def test_volumes_point_at_the_rendered_configmaps(sidecar: Rendered) -> None:
    """The pod's ConfigMap volumes name the ConfigMaps this release renders."""
    volumes = {v["name"]: v for v in _litellm_values(sidecar)["volumes"]}
    rendered = {m["metadata"]["name"] for m in sidecar.all("ConfigMap")}
    assert volumes["watchdog-config"]["configMap"]["name"] == f"{FULLNAME}-config"
    assert volumes["watchdog-rules"]["configMap"]["name"] == f"{FULLNAME}-rules"
    assert {f"{FULLNAME}-config", f"{FULLNAME}-rules"} <= rendered
    assert "emptyDir" in volumes["watchdog-state"]


def test_sidecar_has_no_readiness_probe(sidecar: Rendered) -> None:
    """A watchdog that is not ready must never take LiteLLM out of its Service: no readiness."""
    container = _only_container(_litellm_values(sidecar))
    assert "readinessProbe" not in container
    assert container["livenessProbe"]["httpGet"] == {
        "path": "/health/liveliness",
        "port": "watchdog",
    }
    assert container["startupProbe"]["httpGet"] == {
        "path": "/health/liveliness",
        "port": "watchdog",
    }
    assert container["ports"] == [{"containerPort": 9464, "name": "watchdog", "protocol": "TCP"}]


def test_sidecar_talks_to_litellm_on_localhost(sidecar: Rendered) -> None:
    """The config points at LiteLLM in the same pod; the master key is LiteLLM's own Secret."""
    settings = yaml.safe_load(sidecar.config_map("config")["data"]["watchdog.yaml"])
    assert settings["litellm"]["url"] == "http://localhost:4000"
    env = {e["name"]: e for e in _only_container(_litellm_values(sidecar))["env"]}
    assert env["LITELLM_MASTER_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "litellm-masterkey",
        "key": "masterkey",
        "optional": False,
    }
    assert env["WATCHDOG_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == FULLNAME


def test_sidecar_is_the_standalone_container_minus_readiness(helm: Helm, sidecar: Rendered) -> None:
    """One template makes both: the sidecar differs only in its port name and readiness probe."""
    standalone = helm.template(ci_values("sidecar"), sets={"mode": "standalone"}).container()
    text = yaml.safe_dump(_only_container(_litellm_values(sidecar)), sort_keys=True)
    expected = dict(standalone)
    del expected["readinessProbe"]
    assert text == yaml.safe_dump(expected, sort_keys=True).replace(": http\n", ": watchdog\n")


def test_sidecar_runs_restricted(sidecar: Rendered) -> None:
    """The container brings its own restricted security context (LiteLLM's pod sets none)."""
    context = _only_container(_litellm_values(sidecar))["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == 10001
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_sidecar_config_loads_in_the_daemon(sidecar: Rendered, tmp_path: Path) -> None:
    """The daemon accepts the sidecar's config with the variables the container gets."""
    path = tmp_path / "watchdog.yaml"
    path.write_text(sidecar.config_map("config")["data"]["watchdog.yaml"], encoding="utf-8")
    env = {
        e["name"]: "postgresql://u:p@db/w" for e in _only_container(_litellm_values(sidecar))["env"]
    }
    settings = config.load(path, env=env)
    assert settings.database_url is not None
    assert settings.litellm is not None
    assert settings.litellm.url == "http://localhost:4000"


def test_metrics_service_selects_the_litellm_pods(sidecar: Rendered) -> None:
    """With sidecar.podSelector a Service reaches every sidecar's port for scraping."""
    service = sidecar.one("Service")["spec"]
    assert service["selector"] == {
        "app.kubernetes.io/name": "litellm",
        "app.kubernetes.io/instance": "litellm",
    }
    assert service["ports"][0]["targetPort"] == "watchdog"


def test_component_chart_gets_the_container_next_to_its_backend(helm: Helm) -> None:
    """For the `litellm` component chart the sidecar joins the backend (admin API on 4001)."""
    rendered = helm.template(ci_values("sidecar"), sets={"sidecar.litellmChart": "litellm"})
    values = _litellm_values(rendered)
    assert set(values) == {"backend"}
    assert set(values["backend"]) == {"extraContainers", "volumes"}
    settings = yaml.safe_load(rendered.config_map("config")["data"]["watchdog.yaml"])
    assert settings["litellm"]["url"] == "http://localhost:4001"


def test_values_survive_litellm_templating(sidecar: Rendered) -> None:
    """The values hold no template braces (the component chart passes them through `tpl`)."""
    assert "{{" not in sidecar.config_map("litellm-values")["data"]["values.yaml"]


def test_sqlite_sidecar_needs_an_explicit_yes(helm: Helm) -> None:
    """sidecar.allowSqlite accepts a per-pod SQLite ledger on an emptyDir."""
    rendered = helm.template(sets={"mode": "sidecar", "sidecar.allowSqlite": "true"})
    values = _litellm_values(rendered)
    state = next(v for v in values["volumes"] if v["name"] == "watchdog-state")
    assert "emptyDir" in state
    assert "Deployment" not in rendered.kinds
    assert "Service" not in rendered.kinds  # no podSelector, nothing to select
