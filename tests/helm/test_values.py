"""values.yaml and values.schema.json: documented, in step, and bad values refused clearly."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.helm.conftest import CHART, Helm

pytestmark = pytest.mark.helm

VALUES_TEXT = (CHART / "values.yaml").read_text(encoding="utf-8")
SCHEMA: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w.-]*):(?: |$)")


def _documented_keys(text: str) -> Iterator[tuple[str, bool]]:
    """(dotted key, documented) for each leaf key: a `# --` comment on it or an enclosing key."""
    entries: list[tuple[int, str, bool]] = []  # indent, dotted path, own comment
    stack: list[tuple[int, str]] = []
    comment = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = True
        elif stripped and not stripped.startswith("#") and (match := _KEY.match(line)):
            indent = len(match["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, match["key"]))
            entries.append((indent, ".".join(name for _, name in stack), comment))
            comment = False
    for i, (indent, path, own) in enumerate(entries):
        following = entries[i + 1][0] if i + 1 < len(entries) else -1
        if following > indent:
            continue  # a section: its keys are checked one by one
        enclosing = any(
            documented and path.startswith(f"{other}.") for _, other, documented in entries[:i]
        )
        yield path, own or enclosing


def _leaf_paths(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaf_paths(item, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


def _schema_for(path: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = SCHEMA
    for part in path.split("."):
        if node is None:
            return None
        if "$ref" in node:
            node = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]]
        properties = node.get("properties", {})
        if part in properties:
            node = properties[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        elif node.get("type") == "object" and "additionalProperties" not in node:
            return node  # a free-form object (securityContext, affinity…)
        else:
            return None
    return node


def test_values_file_points_editors_at_the_schema() -> None:
    """values.yaml starts with the yaml-language-server schema line."""
    assert VALUES_TEXT.splitlines()[0] == "# yaml-language-server: $schema=values.schema.json"


def test_every_value_is_documented() -> None:
    """Every key in values.yaml has a `# --` comment (on itself or the object it belongs to)."""
    keys = list(_documented_keys(VALUES_TEXT))
    assert len(keys) > 80
    assert [path for path, documented in keys if not documented] == []


def test_documentation_check_spots_a_missing_comment() -> None:
    """The check above finds an undocumented key next to documented ones."""
    text = "a:\n  # -- Documented.\n  b: 1\n  c: 2\n# -- The whole map.\nd:\n  e: 3\n"
    assert list(_documented_keys(text)) == [("a.b", True), ("a.c", False), ("d.e", True)]


def test_readme_lists_every_value() -> None:
    """The chart README's values table has a row for each value (or the object holding it)."""
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip() for line in readme.splitlines() if line.startswith("| ")}
    missing = []
    for path, _ in _documented_keys(VALUES_TEXT):
        parts = path.split(".")
        if not any(".".join(parts[:n]) in rows for n in range(1, len(parts) + 1)):
            missing.append(path)
    assert missing == []


def test_value_keys_are_camel_case() -> None:
    """Chart-owned keys are camelCase; only `config` (the daemon's own format) is snake_case."""
    values = yaml.safe_load(VALUES_TEXT)
    own = [p for p in _leaf_paths(values) if not p.startswith(("config.", "dashboard.labels"))]
    assert [p for p in own if "_" in p or "-" in p] == []


def test_schema_describes_every_value() -> None:
    """Each value in values.yaml is described by the schema, so typos fail at install time."""
    values = yaml.safe_load(VALUES_TEXT)
    assert [p for p in _leaf_paths(values) if _schema_for(p) is None] == []


def test_schema_is_draft_07_and_closed() -> None:
    """The schema is draft-07 and refuses unknown top-level and section keys."""
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert SCHEMA["additionalProperties"] is False
    owned = [k for k, v in SCHEMA["properties"].items() if "properties" in v]
    assert len(owned) > 10
    assert [
        k for k in owned if SCHEMA["properties"][k].get("additionalProperties") is not False
    ] == []


SECRET = "sk-live-3c9e1f0b"


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        pytest.param(
            {"mode": "daemon"},
            "at '/mode': value must be one of 'standalone', 'sidecar'",
            id="unknown mode",
        ),
        pytest.param(
            {"image.pullPolicy": "Sometimes"},
            "at '/image/pullPolicy': value must be one of",
            id="pull policy",
        ),
        pytest.param(
            {"replicaCunt": "2"},
            "additional properties 'replicaCunt' not allowed",
            id="typo in a key",
        ),
        pytest.param(
            {"replicaCount": "-1"},
            "at '/replicaCount': minimum: got -1, want 0",
            id="negative replicas",
        ),
        pytest.param(
            {"database.type": "mysql"},
            "at '/database/type': value must be one of 'sqlite', 'postgresql'",
            id="unknown database",
        ),
        pytest.param(
            {"config.log_level": "verbose"},
            "at '/config/log_level': value must be one of",
            id="log level",
        ),
        pytest.param(
            {"config.poll_interval": "often"}, "at '/config/poll_interval'", id="poll interval"
        ),
        pytest.param(
            {"config.rules": "/srv/rules"},
            "at '/config': additional properties 'rules' not allowed",
            id="a setting the chart manages",
        ),
        pytest.param(
            {"config.litellm.url": "http://x"},
            "at '/config/litellm': additional properties 'url' not allowed",
            id="litellm.url belongs in litellm.url",
        ),
        pytest.param(
            {"config.channels.ops.type": "pager"},
            "at '/config/channels/ops/type': value must be one of",
            id="channel type",
        ),
        pytest.param(
            {"sidecar.litellmChart": "litellm-proxy"},
            "at '/sidecar/litellmChart'",
            id="unknown LiteLLM chart",
        ),
        pytest.param(
            {"replicaCount": "2"},
            "replicaCount: 2 needs PostgreSQL: set database.type: postgresql",
            id="replicas on SQLite",
        ),
        pytest.param(
            {"database.type": "postgresql"},
            "database.type: postgresql needs the database URL",
            id="postgresql without a URL",
        ),
        pytest.param(
            {"mode": "sidecar"},
            "mode: sidecar runs one watchdog per LiteLLM pod",
            id="sidecar on SQLite",
        ),
        pytest.param(
            {"podDisruptionBudget.enabled": "true"},
            "podDisruptionBudget.enabled needs replicaCount > 1",
            id="PDB over one pod",
        ),
        pytest.param(
            {
                "persistence.enabled": "true",
                "database.type": "postgresql",
                "secrets.values.databaseUrl": "postgresql://db/w",
            },
            "persistence.enabled keeps the SQLite store on a volume, but database.type is postgres",
            id="a volume for PostgreSQL",
        ),
        pytest.param(
            {"config.channels.ops.type": "slack", "config.channels.ops.token": SECRET},
            "config.channels.ops.token: write os.environ/NAME here, not the secret itself",
            id="literal Slack token",
        ),
        pytest.param(
            {
                "config.prometheus.url": "http://prom",
                "config.prometheus.headers.Authorization": SECRET,
            },
            "config.prometheus.headers.Authorization: write os.environ/NAME here",
            id="literal header",
        ),
        pytest.param(
            {
                "database.type": "postgresql",
                "secrets.values.databaseUrl": f"mysql://u:{SECRET}@db/w",
            },
            "secrets.values.databaseUrl: expected a URL such as postgresql://",
            id="not a PostgreSQL URL",
        ),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(
    helm: Helm, sets: dict[str, str], expected: str
) -> None:
    """helm refuses the values, names what is wrong, and never prints a secret."""
    stderr = helm.refusal(sets=sets)
    assert expected in stderr
    assert SECRET not in stderr


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"teams.txt": "budgets: []"},
            "'teams.txt' does not match pattern",
            id="not a .yaml name",
        ),
        pytest.param(
            {"teams.yaml": "budgets: ["},
            "rules.files.teams.yaml: expected YAML with a `budgets:` list",
            id="broken YAML",
        ),
        pytest.param(
            {"teams.yaml": "- name: x"},
            "rules.files.teams.yaml: expected YAML with a `budgets:` list",
            id="a list",
        ),
        pytest.param(
            {"teams.yaml": "defaults: {}"},
            "rules.files.teams.yaml: missing `budgets:`",
            id="no budgets",
        ),
    ],
)
def test_broken_rule_files_are_refused(helm: Helm, files: dict[str, str], expected: str) -> None:
    """Rule files that cannot be rule files are refused before they reach the cluster."""
    assert expected in helm.refusal(values={"rules": {"files": files}})
