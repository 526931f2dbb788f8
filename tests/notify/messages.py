"""Real rendered messages for the channel tests: the core decides, `render` words them."""

from __future__ import annotations

from dataclasses import replace

from tests.builders import ledger, rule, rules, run, sent, snap, team, thread
from watchdog.decisions import Action, Decision
from watchdog.model import LedgerState, Snapshot
from watchdog.render import Message, render
from watchdog.rules import RuleSet


def _notice(ruleset: RuleSet, snapshot: Snapshot, state: LedgerState | None = None) -> Decision:
    decisions = [d for d in run(ruleset, snapshot, state) if d.action is Action.NOTIFY]
    assert len(decisions) == 1, decisions
    return decisions[0]


def warning() -> Message:
    """Team engineering crossed its soft limit: 82 % of $5,000."""
    return render(_notice(rules(rule(soft_limit="80%")), snap(team(4100))))


def critical() -> Message:
    """Team engineering went over its hard limit: 102 % of $5,000."""
    return render(_notice(rules(rule()), snap(team(5100))))


def resolved() -> Message:
    """The hard limit was raised to $8,000: team engineering is back under."""
    state = ledger((thread(), [sent("hard:100%@5000")]))
    return render(_notice(rules(rule(amount=8000)), snap(team(5100)), state))


def as_test(message: Message | None = None) -> Message:
    """A message marked as a test."""
    return replace(message or warning(), test=True)
