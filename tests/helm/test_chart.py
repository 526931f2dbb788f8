"""The chart in standalone mode: lint, what each value set renders, probes, hardening, rollouts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helm.conftest import CHART, CI_VALUES, FULLNAME, Helm, Manifest, ci_values

pytestmark = pytest.mark.helm

PORT = 9464


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_lint_strict_passes(helm: Helm, values: Path) -> None:
    """`helm lint --strict` accepts every ci/ value set with no warnings."""
    result = helm.run("lint", "--strict", str(CHART), "--values", str(values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout
    assert "[ERROR]" not in result.stdout


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "default",
            {"ServiceAccount", "ConfigMap", "Service", "Deployment", "Pod"},
            id="default: no Secret without values",
        ),
        pytest.param(
            "postgres-ha",
            {"ServiceAccount", "ConfigMap", "Secret", "Service", "Deployment", "Pod"},
            id="postgres-ha",
        ),
        pytest.param(
            "existing-secret",
            {"ServiceAccount", "ConfigMap", "Service", "Deployment", "Pod"},
            id="existing-secret: the chart makes no Secret",
        ),
        pytest.param(
            "monitoring",
            {
                "ServiceAccount",
                "ConfigMap",
                "Secret",
                "Service",
                "Deployment",
                "Pod",
                "ServiceMonitor",
                "PrometheusRule",
                "PodDisruptionBudget",
                "NetworkPolicy",
            },
            id="monitoring",
        ),
        pytest.param(
            "pvc",
            {
                "ServiceAccount",
                "ConfigMap",
                "Secret",
                "Service",
                "Deployment",
                "Pod",
                "PersistentVolumeClaim",
            },
            id="pvc",
        ),
        pytest.param(
            "sidecar",
            {"ConfigMap", "Secret", "Service", "ServiceMonitor", "Pod"},
            id="sidecar: no Deployment, no ServiceAccount",
        ),
    ],
)
def test_each_value_set_renders_its_kinds(helm: Helm, name: str, expected: set[str]) -> None:
    """Each ci/ value set renders exactly the kinds of resources it is about."""
    assert helm.template(ci_values(name)).kinds == expected


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_every_resource_is_labelled_and_namespaced(helm: Helm, values: Path) -> None:
    """Every resource carries the app.kubernetes.io labels and the release namespace."""
    for manifest in helm.template(values):
        meta = manifest["metadata"]
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "watchdog", meta["name"]
        assert labels["app.kubernetes.io/instance"] == "budgets", meta["name"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm", meta["name"]
        assert meta["namespace"] == "finops", meta["name"]


@pytest.mark.parametrize(
    ("probe", "path"),
    [
        pytest.param("startupProbe", "/health/liveliness", id="startup"),
        pytest.param("livenessProbe", "/health/liveliness", id="liveness"),
        pytest.param("readinessProbe", "/health/readiness", id="readiness"),
    ],
)
def test_probes_call_the_daemon_health_endpoints(helm: Helm, probe: str, path: str) -> None:
    """Each probe is an HTTP GET on the daemon's health endpoint, on the port it listens on."""
    container = helm.template().container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    get = container[probe]["httpGet"]
    assert get["path"] == path
    assert ports[get["port"]] == PORT


def test_probes_can_be_turned_off(helm: Helm) -> None:
    """probes.<name>.enabled: false leaves that probe out."""
    container = helm.template(sets={"probes.readiness.enabled": "false"}).container()
    assert "readinessProbe" not in container
    assert "livenessProbe" in container


def test_the_daemon_listens_where_the_service_and_probes_point(helm: Helm) -> None:
    """The config's http.port, the container port and the Service's target agree."""
    rendered = helm.template(sets={"containerPort": "9100"})
    config = yaml.safe_load(rendered.config_map("config")["data"]["watchdog.yaml"])
    assert config["http"] == {"host": "0.0.0.0", "port": 9100}  # noqa: S104 - the pod's own port
    assert rendered.container()["ports"] == [
        {"name": "http", "containerPort": 9100, "protocol": "TCP"}
    ]
    assert rendered.one("Service")["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("runAsNonRoot", True, id="runAsNonRoot"),
        pytest.param("runAsUser", 10001, id="runAsUser"),
        pytest.param("runAsGroup", 10001, id="runAsGroup"),
        pytest.param("readOnlyRootFilesystem", True, id="readOnlyRootFilesystem"),
        pytest.param("allowPrivilegeEscalation", False, id="allowPrivilegeEscalation"),
        pytest.param("privileged", False, id="privileged"),
        pytest.param("capabilities", {"drop": ["ALL"]}, id="capabilities"),
        pytest.param("seccompProfile", {"type": "RuntimeDefault"}, id="seccompProfile"),
    ],
)
def test_container_runs_restricted(helm: Helm, field: str, expected: object) -> None:
    """The container meets the restricted Pod Security Standard by default."""
    assert helm.template().container()["securityContext"][field] == expected


def test_pod_runs_without_api_token_or_service_links(helm: Helm) -> None:
    """The pod runs non-root with no Kubernetes API token and no service-link variables."""
    rendered = helm.template()
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert rendered.one("ServiceAccount")["automountServiceAccountToken"] is False


def test_writable_paths_are_volumes(helm: Helm) -> None:
    """/tmp and the state directory are volumes; config and rules are mounted read-only."""
    rendered = helm.template(ci_values("postgres-ha"))
    mounts = {m["mountPath"]: m for m in rendered.container()["volumeMounts"]}
    assert set(mounts) == {
        "/etc/watchdog/config",
        "/etc/watchdog/rules",
        "/var/lib/watchdog",
        "/tmp",
    }
    assert mounts["/etc/watchdog/config"]["readOnly"] is True
    assert mounts["/etc/watchdog/rules"]["readOnly"] is True
    assert not mounts["/tmp"].get("readOnly")
    volumes = {
        v["name"]: v for v in rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    }
    assert volumes[mounts["/tmp"]["name"]]["emptyDir"]["medium"] == "Memory"
    assert (
        volumes[mounts["/etc/watchdog/rules"]["name"]]["configMap"]["name"] == f"{FULLNAME}-rules"
    )


def test_resources_are_set_by_default(helm: Helm) -> None:
    """The container has CPU and memory requests and a memory limit out of the box."""
    resources = helm.template().container()["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert "memory" in resources["limits"]


def test_the_container_runs_the_daemon_on_the_mounted_config(helm: Helm) -> None:
    """The container runs `run --config` on the mounted file, which WATCHDOG_CONFIG also names."""
    container = helm.template().container()
    assert container["args"] == ["run", "--config", "/etc/watchdog/config/watchdog.yaml"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["WATCHDOG_CONFIG"] == "/etc/watchdog/config/watchdog.yaml"
    assert container["image"] == "ghcr.io/llm-budget-watchdog/watchdog:0.1.0"


def test_an_image_digest_pins_the_image(helm: Helm) -> None:
    """image.digest wins over the tag."""
    digest = "sha256:" + "ab" * 32
    container = helm.template(sets={"image.digest": digest, "image.tag": "9.9.9"}).container()
    assert container["image"] == f"ghcr.io/llm-budget-watchdog/watchdog@{digest}"


@pytest.mark.parametrize(
    ("values", "strategy"),
    [
        pytest.param("default", {"type": "Recreate"}, id="sqlite: one writer at a time"),
        pytest.param("pvc", {"type": "Recreate"}, id="sqlite on a claim"),
        pytest.param(
            "postgres-ha",
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            id="postgresql: standbys take over",
        ),
    ],
)
def test_rollout_strategy_follows_the_store(helm: Helm, values: str, strategy: Manifest) -> None:
    """SQLite gets Recreate (never two writers); PostgreSQL rolls with a standby."""
    assert helm.template(ci_values(values)).one("Deployment")["spec"]["strategy"] == strategy


def test_replicas_and_spread_in_ha(helm: Helm) -> None:
    """The HA value set runs two replicas spread over zones."""
    spec = helm.template(ci_values("postgres-ha")).one("Deployment")["spec"]
    assert spec["replicas"] == 2
    spread = spec["template"]["spec"]["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "topology.kubernetes.io/zone"


def test_persistence_mounts_a_claim(helm: Helm) -> None:
    """persistence.enabled puts the SQLite file on a claim of the requested size and class."""
    rendered = helm.template(ci_values("pvc"))
    claim = rendered.one("PersistentVolumeClaim")
    assert claim["metadata"]["name"] == f"{FULLNAME}-state"
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    volumes = rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    state = next(v for v in volumes if v["name"] == "watchdog-state")
    assert state == {
        "name": "watchdog-state",
        "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]},
    }


def test_an_existing_claim_is_used_as_is(helm: Helm) -> None:
    """persistence.existingClaim mounts that claim and creates none."""
    rendered = helm.template(
        sets={"persistence.enabled": "true", "persistence.existingClaim": "watchdog-data"}
    )
    assert "PersistentVolumeClaim" not in rendered.kinds
    volumes = rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "watchdog-state",
        "persistentVolumeClaim": {"claimName": "watchdog-data"},
    } in volumes


def test_pod_disruption_budget_covers_the_replicas(helm: Helm) -> None:
    """The PDB selects the watchdog pods and lets one go at a time."""
    rendered = helm.template(ci_values("monitoring"))
    pdb = rendered.one("PodDisruptionBudget")["spec"]
    pod_labels = rendered.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()


def test_service_selects_the_pods(helm: Helm) -> None:
    """The Service's selector matches the Deployment's pod labels."""
    rendered = helm.template()
    selector = rendered.one("Service")["spec"]["selector"]
    pod_labels = rendered.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    assert rendered.one("Service")["spec"]["ports"][0]["port"] == PORT
