"""Messages: the words, fields, identities and webhook payload every channel shows."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.builders import NOW, key, ledger, rule, rules, run, sent, snap, team, thread
from watchdog.decisions import Action, Decision, Reason
from watchdog.model import LedgerState, Snapshot
from watchdog.render import message_id, render, thread_id
from watchdog.rules import RuleSet


def _notice(ruleset: RuleSet, snapshot: Snapshot, state: LedgerState | None = None) -> Decision:
    decisions = [d for d in run(ruleset, snapshot, state) if d.action is Action.NOTIFY]
    assert len(decisions) == 1, decisions
    return decisions[0]


STOCKHOLM = rule(timezone="Europe/Stockholm", soft_limit="80%", alert_at=["50%", "90%"])


def test_title_reads_like_a_sentence() -> None:
    """ "Budget warning: team engineering at 82% — $4,100.00 of $5,000.00, resets … Stockholm"."""
    message = render(_notice(rules(STOCKHOLM), snap(team(4100))))
    assert message.title == (
        "Budget warning: team engineering at 82% — $4,100.00 of $5,000.00, "
        "resets 2026-12-01 00:00 Europe/Stockholm"
    )
    assert message.severity == "warning"


@pytest.mark.parametrize(
    ("spend", "head", "severity"),
    [
        pytest.param(2600, "Budget alert", "info", id="a ladder step is an alert"),
        pytest.param(4100, "Budget warning", "warning", id="the soft limit warns"),
        pytest.param(5100, "Budget exceeded", "critical", id="the hard limit is critical"),
    ],
)
def test_severity_follows_the_step(spend: int, head: str, severity: str) -> None:
    """The kind of step decides the headline and the colour."""
    message = render(_notice(rules(STOCKHOLM), snap(team(spend))))
    assert message.title.startswith(f"{head}: team engineering")
    assert message.severity == severity


def test_money_is_exact() -> None:
    """$0.10 + $0.20 shows as $0.30, never 0.30000000000000004."""
    spend = Decimal("0.10") + Decimal("0.20")
    message = render(_notice(rules(rule(amount="0.5", alert_at=["50%"])), snap(team(str(spend)))))
    assert ("Spent", "$0.30") in message.fields
    assert message.payload["spend"] == 0.3
    assert "0.30000000000000004" not in json.dumps(message.payload)


def test_keys_are_masked_everywhere() -> None:
    """A key is named by alias and masked form; the payload carries the masked form only."""
    decision = _notice(rules(rule(scope="key", match="ci-bot")), snap(key(6000)))
    message = render(decision)
    assert "key ci-bot (sk-...abcd)" in message.title
    assert message.payload["key"] == "sk-...abcd"
    assert message.payload["key_alias"] == "ci-bot"
    assert message.payload["token"] == "hash-ci-bot"


def test_payload_has_litellms_fields_and_ours() -> None:
    """The webhook body is LiteLLM's budget alert shape plus watchdog's fields."""
    payload = render(_notice(rules(STOCKHOLM), snap(team(4100)))).payload
    litellm = {
        "event",
        "timestamp",
        "key",
        "key_alias",
        "spend",
        "max_budget",
        "budget_threshold",
        "percentage",
        "budget_reset_at",
        "metadata",
        "event_group",
        "event_message",
        "soft_budget",
        "team_id",
        "team_alias",
        "user_id",
        "customer_id",
        "projected_spend",
        "projected_exceeded_date",
        "token",
    }
    ours = {
        "schema_version",
        "id",
        "reason",
        "severity",
        "rule",
        "scope",
        "entity",
        "period",
        "threshold",
        "detail",
        "data_as_of",
        "measurement",
        "forecast",
        "test",
    }
    assert litellm | ours <= set(payload)
    assert payload["event"] == "soft_budget_crossed"
    assert payload["percentage"] == 82.0
    assert payload["budget_threshold"] == 4000.0
    assert payload["budget_reset_at"] == "2026-11-30T23:00:00Z"
    assert payload["period"] == {
        "key": "2026-10-31T23:00:00Z",
        "start": "2026-10-31T23:00:00Z",
        "end": "2026-11-30T23:00:00Z",
        "timezone": "Europe/Stockholm",
    }
    assert payload["threshold"] == {
        "id": "soft:80%@4000",
        "kind": "soft",
        "label": "80%",
        "amount": 4000.0,
    }
    json.dumps(payload)  # serialisable as is


def test_identities_are_stable_and_distinct() -> None:
    """The message id is the same on each evaluation, distinct per channel; threads are shared."""
    ruleset = rules(STOCKHOLM, channels=("a", "b"))
    first = [d for d in run(ruleset, snap(team(4100))) if d.action is Action.NOTIFY]
    again = [d for d in run(ruleset, snap(team(4200))) if d.action is Action.NOTIFY]
    assert [message_id(d) for d in first] == [message_id(d) for d in again]
    assert message_id(first[0]) != message_id(first[1])
    assert thread_id(first[0]) == thread_id(first[1])
    assert render(first[0]).id == message_id(first[0])


def test_a_resolution_says_it_is_back_under() -> None:
    """Resolutions have their own headline, severity and event name."""
    state = ledger((thread(), [sent("hard:100%@5000")]))
    decision = _notice(rules(rule(amount=8000)), snap(team(5100)), state)
    assert decision.reason is Reason.RESOLVED
    message = render(decision)
    assert message.title.startswith("Back under budget step: team engineering at 64%")
    assert message.severity == "resolved"
    assert message.payload["event"] == "budget_resolved"
    assert message.payload["resolved_to"] is None
    assert message.summary == (
        "Back under the hard limit 100% ($8,000.00); now under every alert step"
    )


def test_a_runaway_forecast_names_the_exhaustion_time() -> None:
    """The forecast message tells when the budget runs out at the last hour's pace."""
    from types import MappingProxyType

    from watchdog.model import Sample

    quiet_month = [
        Sample(NOW - timedelta(days=17) + timedelta(hours=h), Decimal(h))
        for h in range(17 * 24 - 1)
    ]
    burst = Sample(NOW - timedelta(hours=1), Decimal(1000))
    history = MappingProxyType({team(0).ref: (*quiet_month, burst)})
    state = LedgerState(history=history)
    ruleset = rules(rule(hard_limit=None, forecast={"consecutive": 1}))
    decision = _notice(ruleset, snap(team(1300)), state)
    message = render(decision)
    assert decision.reason is Reason.FORECAST
    runs_out = dict(message.fields)["Runs out"]
    assert runs_out.startswith("in 12 h")
    assert "last hour's pace ($300.00/h)" in runs_out
    assert message.payload["forecast"]["runaway"] is True


def test_source_outage_message() -> None:
    """A source outage says which budgets are affected and since when data is good."""
    down = snap(team(100), as_of=NOW - timedelta(minutes=20), ok=False, error="timeout")
    [decision] = [d for d in run(rules(STOCKHOLM), down) if d.reason is Reason.SOURCE_DOWN]
    message = render(decision)
    assert message.title == (
        "Spend source litellm unavailable: budgets it feeds are not being checked"
    )
    assert ("Last good data", "2026-11-18 11:40 UTC") in message.fields
    assert message.payload["event"] == "source_unavailable"
