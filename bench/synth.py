"""Synthetic LiteLLM data at scale: rows with the real field set, rules, ledgers and history.

Rows start from the captured responses in tests/fixtures/litellm and change only identities,
spend, budgets and dates, so parsing and payload sizes are those of a real proxy. Everything
is seeded: the same size gives the same data on every run.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from types import MappingProxyType
from typing import Any

from bench.table import ROOT
from watchdog.model import Entity, EntityRef, LedgerState, Sample, Scope, Snapshot, SourceStatus
from watchdog.rules import Routing, Rule, RuleSet
from watchdog.sources import litellm_parse as parse

FIXTURES = ROOT / "tests" / "fixtures" / "litellm"
Row = dict[str, Any]
CHANNEL = "eng-slack"


@cache
def _template(name: str, field: str | None, alias: str | None = None) -> Row:
    body = json.loads((FIXTURES / name).read_text())
    rows: list[Row] = body[field] if field else body
    chosen = next((r for r in rows if alias is None or r.get("key_alias") == alias), rows[0])
    return dict(chosen)


@dataclass(frozen=True)
class Population:
    """A proxy's lists: 80% keys, 15% users, 5% teams (at least one team)."""

    keys: list[Row]
    teams: list[Row]
    users: list[Row]

    @property
    def size(self) -> int:
        return len(self.keys) + len(self.teams) + len(self.users)


def team_names(total: int) -> list[str]:
    """The team aliases of a population of `total` entities (rules name them)."""
    return [f"team-{i:05d}" for i in range(max(1, total // 20))]


def population(total: int, *, now: datetime, seed: int = 1) -> Population:
    rng = random.Random(seed)
    teams = [_team(name, rng, now) for name in team_names(total)]
    users = [_user(i, rng, now, teams) for i in range(total * 3 // 20)]
    keys = [_key(i, rng, now, teams) for i in range(total - len(teams) - len(users))]
    return Population(keys=keys, teams=teams, users=users)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _next_month(now: datetime) -> datetime:
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def _spend(rng: random.Random, budget: float) -> float:
    """Most budgets well under, a tail over (beta-distributed share of the budget)."""
    return round(budget * rng.betavariate(2, 5) * 1.4, 6) + 1e-9 * rng.random()


def _key(i: int, rng: random.Random, now: datetime, teams: Sequence[Row]) -> Row:
    budget = rng.choice((None, 10.0, 50.0, 100.0, 500.0, 1000.0))
    monthly = budget is not None and rng.random() < 0.3
    team = rng.choice(teams) if rng.random() < 0.8 else None
    soft = {"soft_budget": budget * 0.8} if budget and rng.random() < 0.3 else None
    return {
        **_template("key_list__return_full_object.json", "keys", "alice-alpha"),
        "token": hashlib.sha256(f"bench-key-{i}".encode()).hexdigest(),
        "key_name": f"sk-...{i % 65536:04x}",
        "key_alias": f"key-{i:06d}",
        "spend": _spend(rng, budget or 200.0),
        "max_budget": budget,
        "budget_duration": "30d" if monthly else None,
        "budget_reset_at": _iso(_next_month(now)) if monthly else None,
        "team_id": team["team_id"] if team else None,
        "litellm_budget_table": soft,
        "metadata": {"owner": f"owner-{i % 97}"},
        "created_at": _iso(now - timedelta(days=rng.randint(1, 400))),
        "blocked": None,
    }


def _team(alias: str, rng: random.Random, now: datetime) -> Row:
    budget = rng.choice((None, 1000.0, 5000.0))
    return {
        **_template("v2_team_list.json", "teams"),
        "team_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "team_alias": alias,
        "max_budget": budget,
        "soft_budget": None,
        "budget_duration": None,
        "budget_reset_at": None,
        "spend": _spend(rng, budget or 3000.0),
        "created_at": _iso(now - timedelta(days=rng.randint(30, 700))),
    }


def _user(i: int, rng: random.Random, now: datetime, teams: Sequence[Row]) -> Row:
    budget = rng.choice((None, 50.0, 200.0))
    daily = budget is not None and rng.random() < 0.5
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        **_template("user_list.json", "users"),
        "user_id": f"user-{i:06d}",
        "user_email": f"user-{i:06d}@example.test",
        "teams": [rng.choice(teams)["team_id"]],
        "max_budget": budget,
        "budget_duration": "1d" if daily else None,
        "budget_reset_at": _iso(midnight + timedelta(days=1)) if daily else None,
        "spend": _spend(rng, budget or 100.0),
        "created_at": _iso(now - timedelta(days=rng.randint(1, 400))),
    }


# The core's inputs ---------------------------------------------------------------------------


def entities(pop: Population) -> list[Entity]:
    """The entities LiteLLMSource would read from these rows (team names joined onto keys)."""
    teams = [t for row in pop.teams if (t := parse.team(row))]
    keys = parse.join_team_names([k for row in pop.keys if (k := parse.key(row))], teams)
    users = [u for row in pop.users if (u := parse.user(row))]
    return [*keys, *teams, *users]


def snapshot(found: Sequence[Entity], *, now: datetime) -> Snapshot:
    grouped: dict[Scope, dict[str, Entity]] = {}
    for entity in found:
        grouped.setdefault(entity.scope, {})[entity.id] = entity
    return Snapshot(
        taken_at=now,
        entities=MappingProxyType({s: MappingProxyType(e) for s, e in grouped.items()}),
        sources=MappingProxyType({"litellm": SourceStatus("litellm", ok=True, data_as_of=now)}),
    )


def history(found: Sequence[Entity], *, now: datetime, days: int = 9) -> LedgerState:
    """Daily readings over the last `days` days, growing to today's spend (the forecasts' diet)."""
    samples: dict[EntityRef, tuple[Sample, ...]] = {}
    for entity in found:
        samples[entity.ref] = tuple(
            Sample(now - timedelta(days=days - d), entity.spend * d / days) for d in range(days)
        )
    return LedgerState(history=MappingProxyType(samples))


def rule_specs(count: int, teams: Sequence[str]) -> list[dict[str, Any]]:
    """`count` budgets as finance writes them: three wildcards, then per-team budgets."""
    forecast = {"alert_if_projected_over": "100%", "min_elapsed": "3d"}
    specs: list[dict[str, Any]] = [
        {"name": "Every key", "scope": "key", "match": "*", "alert_at": ["50%", "90%"]},
        {
            "name": "Every team",
            "scope": "team",
            "match": "*",
            "amount": 5000,
            "period": "monthly",
            "soft_limit": "80%",
            "forecast": forecast,
        },
        {"name": "Every user", "scope": "user", "match": "*", "amount": 200, "period": "weekly"},
    ]
    for i in range(3, count):
        team = teams[(i - 3) % len(teams)]
        if i % 2:
            specs.append(
                {
                    "name": f"Keys of {team} #{i}",
                    "scope": "key",
                    "team": team,
                    "match": "*",
                    "amount": 100,
                    "period": "monthly",
                    "soft_limit": "80%",
                }
            )
        else:
            specs.append(
                {
                    "name": f"Team {team} #{i}",
                    "scope": "team",
                    "match": team,
                    "amount": 2000,
                    "period": "0 0 1 * *",
                    "alert_at": ["50%"],
                    "forecast": forecast,
                }
            )
    return specs[:count]


def ruleset(specs: Sequence[Mapping[str, Any]]) -> RuleSet:
    return RuleSet(
        rules=tuple(Rule.model_validate(dict(s)) for s in specs),
        routing=Routing(default=(CHANNEL,)),
    )
