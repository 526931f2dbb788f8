"""docs/channels.md: every YAML example is a valid config, and the payload example is current."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.notify import messages
from watchdog import config

DOC = ROOT / "docs" / "channels.md"
TEXT = DOC.read_text(encoding="utf-8")
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.S)


@pytest.mark.parametrize(
    "example", [pytest.param(b, id=f"example {i + 1}") for i, b in enumerate(YAML_BLOCKS)]
)
def test_every_yaml_example_loads(tmp_path: Path, example: str) -> None:
    """Each YAML example in the channel guide is accepted by the config loader."""
    names = set(re.findall(r"os\.environ/([A-Z_][A-Z0-9_]*)", example))
    env = {name: "https://hooks.slack.com/services/T/B/x" for name in names}
    path = tmp_path / "watchdog.yaml"
    path.write_text(example, encoding="utf-8")
    settings = config.load(path, env=env)
    assert settings.channels, "each example defines at least one channel"


def _shape(value: object) -> object:
    """The keys of a JSON value at every level, without the values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return None


def test_the_payload_example_has_the_real_shape() -> None:
    """The documented webhook body has exactly the fields watchdog sends, in the same order."""
    documented = json.loads(re.findall(r"```json\n(.*?)```", TEXT, flags=re.S)[0])
    real = json.loads(json.dumps(dict(messages.critical().payload)))
    assert _shape(documented) == _shape(real)
    assert list(documented) == list(real)


def test_every_payload_field_is_documented() -> None:
    """Each top-level payload field has a row in the reference tables."""
    first_cells = [line.split("|")[1] for line in TEXT.splitlines() if line.startswith("| `")]
    for name in messages.critical().payload:
        assert any(f"`{name}`" in cell or f"`{name}." in cell for cell in first_cells), name
