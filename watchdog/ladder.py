"""A budget's steps in dollars: the alert_at ladder, the soft and the hard limit. Pure.

A step's identity names its kind and amount ("soft:80%@4000"), so a raised budget re-arms
percentage steps; `rank` places a step told earlier on today's ladder.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from watchdog.decisions import Step, StepKind
from watchdog.model import Entity
from watchdog.rule_fields import Threshold
from watchdog.rules import Rule

PRIORITY = {StepKind.THRESHOLD: 0, StepKind.SOFT: 1, StepKind.HARD: 2}
"""Which kind a step is when two land on the same amount (the hard limit wins)."""


def ladder(rule: Rule, entity: Entity, budget: Decimal | None) -> list[Step]:
    """The rule's steps in dollars for this entity, lowest first; one step per amount."""
    wanted: list[tuple[StepKind, Threshold]] = [(StepKind.THRESHOLD, t) for t in rule.alert_at]
    if rule.soft_limit is not None:
        wanted.append((StepKind.SOFT, rule.soft_limit))
    if rule.hard_limit is not None:
        wanted.append((StepKind.HARD, rule.hard_limit))
    by_amount: dict[Decimal, Step] = {}
    for kind, threshold in wanted:
        amount = amount_for(threshold, kind, entity, budget)
        if amount is None or amount <= 0:
            continue
        step = Step(kind, amount, threshold.label)
        held = by_amount.get(amount)
        if held is None or PRIORITY[kind] > PRIORITY[held.kind]:
            by_amount[amount] = step
    return [by_amount[a] for a in sorted(by_amount)]


def amount_for(
    threshold: Threshold, kind: StepKind, entity: Entity, budget: Decimal | None
) -> Decimal | None:
    """A threshold in dollars for this entity (None when it has no amount to work from)."""
    if threshold.kind == "amount":
        return threshold.value
    if threshold.kind == "litellm":
        return entity.soft_budget if kind is StepKind.SOFT else entity.max_budget
    return None if budget is None else budget * threshold.value


def current_step(steps: Sequence[Step], spend: Decimal) -> Step | None:
    """The highest step spend has reached, None when under every step."""
    for step in reversed(steps):
        if spend >= step.amount:
            return step
    return None


def rank(step_id: str | None, steps: Sequence[Step]) -> float:
    """Position of a step on today's ladder; a step the ladder no longer has sits by amount."""
    if step_id is None:
        return -1.0
    name = step_name(step_id)
    for index, step in enumerate(steps):
        if step.name == name:
            return float(index)
    amount = split_step(step_id)[1]
    return sum(1 for step in steps if step.amount < amount) - 0.5


def step_name(step_id: str) -> str:
    """Which step of the ladder a step id names: "soft:80%@4000" → "soft:80%"."""
    return step_id.rpartition("@")[0]


def split_step(step_id: str) -> tuple[str, Decimal]:
    """A step id ("soft:80%@4000") as its name and amount."""
    name, _, amount = step_id.rpartition("@")
    try:
        return name, Decimal(amount)
    except ArithmeticError:
        return name, Decimal(0)


def next_detail(step: Step) -> str:
    """An idle budget's detail: where it stands against the next step up."""
    return f"next: {step.words}"
