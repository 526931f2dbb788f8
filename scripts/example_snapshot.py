"""Build examples/snapshot.json from the real LiteLLM responses in tests/fixtures/litellm.

Usage: python scripts/example_snapshot.py [OUTPUT]
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from watchdog import snapshot
from watchdog.model import Entity, Scope, Snapshot, SourceStatus
from watchdog.sources import litellm_parse as parse

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "litellm"
TAKEN_AT = datetime(2026, 11, 22, 17, 20, tzinfo=UTC)


def _load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


def build() -> Snapshot:
    keys_page = _load("key_list__return_full_object.json")
    teams_page = _load("v2_team_list.json")
    users_page = _load("user_list.json")
    assert isinstance(keys_page, dict)
    assert isinstance(teams_page, dict)
    assert isinstance(users_page, dict)
    teams = [t for row in teams_page["teams"] if (t := parse.team(row))]
    keys = parse.join_team_names([k for row in keys_page["keys"] if (k := parse.key(row))], teams)
    users = [u for row in users_page["users"] if (u := parse.user(row))]
    customers = [c for row in _as_list(_load("customer_list.json")) if (c := parse.customer(row))]
    tags = [t for row in _as_list(_load("spend_tags.json")) if (t := parse.tag(row))]
    proxy = parse.proxy(_as_dict(_load("global_spend.json")))
    entities: dict[Scope, list[Entity]] = {
        Scope.KEY: keys,
        Scope.TEAM: teams,
        Scope.USER: users,
        Scope.CUSTOMER: customers,
        Scope.TAG: tags,
        Scope.GLOBAL: [proxy],
    }
    daily = parse.daily_totals(
        _as_list(_load("global_spend_logs.json")), start=parse.daily_window_start(TAKEN_AT.date())
    )
    return Snapshot(
        taken_at=TAKEN_AT,
        daily=MappingProxyType({proxy.ref: daily}),
        entities=MappingProxyType(
            {s: MappingProxyType({e.id: e for e in es}) for s, es in entities.items()}
        ),
        sources=MappingProxyType(
            {"litellm": SourceStatus("litellm", ok=True, data_as_of=TAKEN_AT, requests=6)}
        ),
    )


def _as_list(value: object) -> list[dict[str, object]]:
    assert isinstance(value, list)
    return value


def _as_dict(value: object) -> dict[str, object]:
    assert isinstance(value, dict)
    return value


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("examples/snapshot.json")
    snapshot.save(out, build())
    sys.stdout.write(f"wrote {out}\n")
