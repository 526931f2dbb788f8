"""The JSON Schema of rule files, for editors: up to date, complete, and true to `check`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require
from watchdog import yamlfile
from watchdog.cli import main
from watchdog.rule_files import json_schema, schema_text
from watchdog.rules import Rule

GOOD = Path(__file__).resolve().parent / "good_rules"


# JSON Schema --------------------------------------------------------------------------------


def test_shipped_schema_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    """rules/schema.json is exactly what `budget-watchdog schema` prints."""
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == schema_text()
    assert (ROOT / "rules" / "schema.json").read_text(encoding="utf-8") == printed


def test_schema_describes_every_field_for_editors() -> None:
    """Every rule field is in the schema with a description, and unknown fields are refused."""
    rule = json_schema()["$defs"]["Rule"]
    assert set(rule["properties"]) == set(Rule.model_fields)
    missing = [name for name, prop in rule["properties"].items() if not prop.get("description")]
    assert missing == []
    assert rule["additionalProperties"] is False


def _plain(value: Any) -> Any:
    """YAML data as JSON would hold it (Decimal → number)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize(
    "path",
    [
        *(pytest.param(p, id=f"rules/{p.name}") for p in sorted((ROOT / "rules").glob("*.yaml"))),
        *(pytest.param(p, id=f"good_rules/{p.name}") for p in sorted(GOOD.glob("*.yaml"))),
    ],
)
def test_the_schema_accepts_the_examples(path: Path) -> None:
    """The shipped and hand-written examples validate against the generated schema."""
    try:
        import jsonschema
    except ImportError:
        require(False, "jsonschema is not installed (pip install -e .[dev])")
        raise
    data = _plain(yamlfile.parse(path.read_text(encoding="utf-8"), str(path)).data)
    jsonschema.validate(data, json.loads(schema_text()))


def test_the_schema_rejects_a_misspelt_field() -> None:
    """An editor using the schema flags the same typo `check` reports."""
    try:
        import jsonschema
    except ImportError:
        require(False, "jsonschema is not installed (pip install -e .[dev])")
        raise
    data = {"budgets": [{"name": "B", "scope": "team", "match": "x", "perod": "monthly"}]}
    with pytest.raises(jsonschema.ValidationError, match="perod"):
        jsonschema.validate(data, json_schema())
