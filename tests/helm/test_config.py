"""The rendered watchdog.yaml and its secrets: valid for the daemon, secrets only by reference."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from tests.helm.conftest import CHART, CI_VALUES, FULLNAME, Helm, Manifest, Rendered, ci_values
from watchdog import config
from watchdog.errors import ConfigError

pytestmark = pytest.mark.helm

SECRETS = {
    "secrets.values.litellmMasterKey": "sk-master-7f3a9c2e",
    "secrets.values.databaseUrl": "postgresql://watchdog:pw-91c0d7@db:5432/watchdog",
    "secrets.values.slackToken": "xoxb-0d6b1e4a",
    "secrets.values.slackWebhookUrl": "https://hooks.slack.com/services/T0/B0/hook-5c2e",
    "secrets.values.smtpPassword": "smtp-pw-44be1a",
    "secrets.values.webhookSecret": "whsec_c2VjcmV0LTFhMmI=",
    "secrets.values.callbackToken": "cb-token-8d0f3e",
}
ENV_OF = {
    "litellmMasterKey": "LITELLM_MASTER_KEY",
    "databaseUrl": "WATCHDOG_DATABASE_URL",
    "slackToken": "SLACK_BOT_TOKEN",
    "slackWebhookUrl": "SLACK_WEBHOOK_URL",
    "smtpPassword": "SMTP_PASSWORD",
    "webhookSecret": "WEBHOOK_SECRET",
    "callbackToken": "CALLBACK_TOKEN",
}


def _watchdog_yaml(rendered: Rendered) -> str:
    text: str = rendered.config_map("config")["data"]["watchdog.yaml"]
    return text


def _env(container: Manifest) -> dict[str, Manifest]:
    return {e["name"]: e for e in container["env"]}


def _fake_environment(container: Manifest) -> dict[str, str]:
    """What the kubelet would set: a plausible value for every variable the container gets."""
    plausible = {
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
        "WATCHDOG_DATABASE_URL": "postgresql://u:p@db:5432/watchdog",
    }
    return {
        name: entry.get("value") or plausible.get(name, f"value-of-{name.lower()}")
        for name, entry in _env(container).items()
    }


@pytest.mark.parametrize(
    "values", [v for v in CI_VALUES if "sidecar" not in v.name], ids=lambda p: p.name
)
def test_rendered_config_loads_in_the_daemon(helm: Helm, values: Path, tmp_path: Path) -> None:
    """The daemon accepts the rendered watchdog.yaml with the environment the pod gets."""
    rendered = helm.template(values)
    path = tmp_path / "watchdog.yaml"
    path.write_text(_watchdog_yaml(rendered), encoding="utf-8")
    container = rendered.container()
    settings = config.load(path, env=_fake_environment(container))
    assert settings.rules == ("/etc/watchdog/rules",)
    assert settings.http.port == 9464
    postgres = "WATCHDOG_DATABASE_URL" in _env(container)
    assert (settings.database_url is not None) is postgres
    if not postgres:
        assert settings.state_file == "/var/lib/watchdog/watchdog-state.db"


def test_config_without_its_secret_variable_is_refused_by_name(helm: Helm, tmp_path: Path) -> None:
    """A referenced variable missing from the pod is named in the daemon's error, never guessed."""
    rendered = helm.template(ci_values("postgres-ha"))
    path = tmp_path / "watchdog.yaml"
    path.write_text(_watchdog_yaml(rendered), encoding="utf-8")
    env = _fake_environment(rendered.container())
    del env["SLACK_BOT_TOKEN"]
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is not set"):
        config.load(path, env=env)


def test_chart_secret_holds_the_values_and_the_pod_references_them(helm: Helm) -> None:
    """Each value in secrets.values lands in the chart's Secret and reaches the pod by reference."""
    rendered = helm.template(sets={**SECRETS, "database.type": "postgresql"})
    secret = rendered.one("Secret", FULLNAME)
    keys = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))["secrets"]["keys"]
    env = _env(rendered.container())
    for setting, value in SECRETS.items():
        item = setting.rsplit(".", 1)[1]
        assert base64.b64decode(secret["data"][keys[item]]).decode() == value
        ref = env[ENV_OF[item]]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": FULLNAME, "key": keys[item], "optional": False}


def test_no_secret_value_appears_outside_the_secret(helm: Helm) -> None:
    """Secret values appear in no ConfigMap, Deployment, test pod or other resource."""
    rendered = helm.template(ci_values("monitoring"), sets={**SECRETS, "dashboard.enabled": "true"})
    others = [m for m in rendered if m["kind"] != "Secret"]
    assert {m["kind"] for m in others} >= {"ConfigMap", "Deployment", "Pod"}
    text = yaml.safe_dump_all(others)
    for value in SECRETS.values():
        assert value not in text
    for container in rendered.container(), *rendered.one("Pod")["spec"]["initContainers"]:
        for entry in container["env"]:
            assert "value" not in entry or not entry["name"].endswith(
                ("KEY", "TOKEN", "PASSWORD", "SECRET", "URL")
            ), entry


def test_the_config_refers_to_secrets_as_environment_variables(helm: Helm) -> None:
    """The managed secrets in watchdog.yaml are os.environ/NAME references."""
    rendered = helm.template(ci_values("postgres-ha"))
    settings = yaml.safe_load(_watchdog_yaml(rendered))
    assert settings["litellm"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert settings["database_url"] == "os.environ/WATCHDOG_DATABASE_URL"
    assert settings["channels"]["finance-slack"]["token"] == "os.environ/SLACK_BOT_TOKEN"


def test_existing_secret_is_referenced_with_its_own_keys(helm: Helm) -> None:
    """With existingSecret the pod reads the mapped keys; values it may lack are optional."""
    rendered = helm.template(ci_values("existing-secret"))
    refs = {
        name: entry["valueFrom"]["secretKeyRef"]
        for name, entry in _env(rendered.container()).items()
        if "valueFrom" in entry
    }
    assert refs == {
        "LITELLM_MASTER_KEY": {"name": "litellm-masterkey", "key": "masterkey", "optional": False},
        "WATCHDOG_DATABASE_URL": {
            "name": "watchdog-credentials",
            "key": "DATABASE_URL",
            "optional": False,
        },
        "SLACK_BOT_TOKEN": {"name": "watchdog-credentials", "key": "slack-token", "optional": True},
        "SLACK_WEBHOOK_URL": {
            "name": "watchdog-credentials",
            "key": "SLACK_WEBHOOK",
            "optional": True,
        },
        "SMTP_PASSWORD": {"name": "watchdog-credentials", "key": "SMTP_PASSWORD", "optional": True},
        "WEBHOOK_SECRET": {
            "name": "watchdog-credentials",
            "key": "WEBHOOK_SIGNING_SECRET",
            "optional": True,
        },
        "CALLBACK_TOKEN": {
            "name": "watchdog-credentials",
            "key": "callback-token",
            "optional": True,
        },
    }
    assert "checksum/secret" not in rendered.pod_annotations()


def test_database_url_is_only_injected_for_postgresql(helm: Helm) -> None:
    """On SQLite the pod gets no database URL, even from an existing Secret that has one."""
    rendered = helm.template(sets={"secrets.existingSecret": "watchdog-credentials"})
    assert "WATCHDOG_DATABASE_URL" not in _env(rendered.container())
    assert "database_url" not in yaml.safe_load(_watchdog_yaml(rendered))


def test_without_a_master_key_the_config_names_none_and_notes_warn(helm: Helm) -> None:
    """No master key anywhere: the config does not reference one, and NOTES says so."""
    rendered = helm.template()
    assert "master_key" not in yaml.safe_load(_watchdog_yaml(rendered))["litellm"]
    assert "WARNING: no LiteLLM master key" in helm.notes()
    assert "WARNING: no LiteLLM master key" not in helm.notes(ci_values("postgres-ha"))


def test_user_config_is_merged_under_the_managed_settings(helm: Helm) -> None:
    """Settings from `config` are kept next to the ones the chart manages."""
    rendered = helm.template(
        sets={"config.litellm.timeout": "30s", "config.litellm.page_size": "50"},
        values={"litellm": {"url": "http://proxy.litellm.svc:4000"}},
    )
    litellm = yaml.safe_load(_watchdog_yaml(rendered))["litellm"]
    assert litellm == {"url": "http://proxy.litellm.svc:4000", "timeout": "30s", "page_size": 50}


def test_config_changes_roll_the_pod(helm: Helm) -> None:
    """Changing `config` changes checksum/config; changing the Secret changes checksum/secret."""
    base = helm.template(ci_values("postgres-ha")).pod_annotations()
    config_changed = helm.template(
        ci_values("postgres-ha"), sets={"config.poll_interval": "5m"}
    ).pod_annotations()
    secret_changed = helm.template(
        ci_values("postgres-ha"), sets={"secrets.values.slackToken": "xoxb-rotated"}
    ).pod_annotations()
    assert config_changed["checksum/config"] != base["checksum/config"]
    assert config_changed["checksum/secret"] == base["checksum/secret"]
    assert secret_changed["checksum/secret"] != base["checksum/secret"]
    assert secret_changed["checksum/config"] == base["checksum/config"]


def test_a_callback_token_turns_on_the_callback_route(helm: Helm) -> None:
    """With the token in a Secret, watchdog.yaml asks for it by reference; without, no route."""
    with_token = helm.template(sets={"secrets.values.callbackToken": "cb-token-8d0f3e"})
    http = yaml.safe_load(_watchdog_yaml(with_token))["http"]
    assert http["callback_token"] == "os.environ/CALLBACK_TOKEN"
    assert "CALLBACK_TOKEN" in _env(with_token.container())
    without = yaml.safe_load(_watchdog_yaml(helm.template()))["http"]
    assert "callback_token" not in without


def test_litellms_own_config_is_mounted_and_named(helm: Helm, tmp_path: Path) -> None:
    """litellmConfig mounts LiteLLM's ConfigMap read-only and points litellm_config at it."""
    rendered = helm.template(
        sets={"litellmConfig.existingConfigMap": "litellm-config", "litellmConfig.key": "p.yaml"}
    )
    path = tmp_path / "watchdog.yaml"
    path.write_text(_watchdog_yaml(rendered), encoding="utf-8")
    settings = config.load(path, env=_fake_environment(rendered.container()))
    assert settings.litellm_config == "/etc/litellm/p.yaml"
    mounts = {m["name"]: m for m in rendered.container()["volumeMounts"]}
    assert mounts["litellm-config"] == {
        "name": "litellm-config",
        "mountPath": "/etc/litellm",
        "readOnly": True,
    }
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["litellm-config"]["configMap"] == {
        "name": "litellm-config",
        "items": [{"key": "p.yaml", "path": "p.yaml"}],
    }
    assert "litellm_config" not in yaml.safe_load(_watchdog_yaml(helm.template()))
