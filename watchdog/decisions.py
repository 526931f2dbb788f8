"""What the core decides: reasons, actions, steps, alerts and decisions. Pure.

Every stage of `evaluate` speaks these words, and so do the shell's logs, previews, messages
and ledger: a decision says what to do about one alert on one channel, and why.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from watchdog.attribution import Attribution
from watchdog.forecast import Projection
from watchdog.measure import Measurement
from watchdog.model import (
    BudgetKey,
    Entity,
    EntityRef,
    ForecastMemory,
    NoticeEvent,
    Scope,
    ThreadKey,
)
from watchdog.money import fmt_money
from watchdog.records import record
from watchdog.windows import Period


class Reason(enum.StrEnum):
    """Why a decision was made; the same words appear in logs, previews and messages."""

    # Sent to a channel
    FIRED = "fired"
    ESCALATED = "escalated"
    REPEAT = "repeat"
    RESOLVED = "resolved"
    FORECAST = "projected over budget"
    FORECAST_CLEARED = "projection back under"
    SOURCE_DOWN = "source unavailable"
    SOURCE_RECOVERED = "source recovered"
    # Changes made in LiteLLM
    RESET = "reset due"
    BLOCK = "block"
    UNBLOCK = "unblock"
    # Remembered, nothing sent
    BASELINE = "first period seen"
    FORECAST_PENDING = "projection over, waiting for confirmation"
    FORECAST_STEADY = "projection back to normal"
    # Suppressed
    DEDUPED = "already sent"
    SNOOZED = "snoozed"
    QUIET_HOURS = "deferred: quiet hours"
    STALE = "stale data"
    INSUFFICIENT_DATA = "insufficient data"
    NO_BUDGET = "no budget"
    NO_CHANNEL = "no channel"
    UNDER = "under every step"

    @property
    def sends(self) -> bool:
        return self in _SENDING


_SENDING = frozenset(
    {
        Reason.FIRED,
        Reason.ESCALATED,
        Reason.REPEAT,
        Reason.RESOLVED,
        Reason.FORECAST,
        Reason.FORECAST_CLEARED,
        Reason.SOURCE_DOWN,
        Reason.SOURCE_RECOVERED,
    }
)


class Action(enum.StrEnum):
    """What the shell does with a decision."""

    NOTIFY = "notify"
    RESET = "reset"
    BLOCK = "block"
    UNBLOCK = "unblock"
    RECORD = "record"
    NONE = "none"


class StepKind(enum.StrEnum):
    """Kinds of steps on a budget, lowest priority first."""

    THRESHOLD = "threshold"
    SOFT = "soft"
    HARD = "hard"
    FORECAST = "forecast"
    SOURCE = "source"

    @property
    def event(self) -> str:
        """LiteLLM's webhook event name for a crossing of this kind."""
        return _EVENTS[self]


_EVENTS = {
    StepKind.THRESHOLD: "threshold_crossed",
    StepKind.SOFT: "soft_budget_crossed",
    StepKind.HARD: "budget_crossed",
    StepKind.FORECAST: "projected_limit_exceeded",
    StepKind.SOURCE: "source_unavailable",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One point on a budget, resolved to dollars for an entity and period."""

    kind: StepKind
    amount: Decimal
    label: str
    """As the rule wrote it: "80%", "$4000", "litellm"."""
    name: str = field(init=False, repr=False, compare=False)
    """Which step of the ladder this is ("soft:80%"), the same when the budget changes."""
    id: str = field(init=False, repr=False, compare=False)
    """The step at today's amount ("soft:80%@4000"): a changed budget re-arms it."""
    words: str = field(init=False, repr=False, compare=False)
    """The step in words, as messages say it: "the soft limit 80% ($4,000.00)"."""
    crossed: str = field(init=False, repr=False, compare=False)
    """An alert's detail when it crossed this step alone: one text for every budget at it."""

    def __post_init__(self) -> None:
        # Worked out once: ladders are cached per call, and their ids compared and their
        # words written for many budgets.
        name = f"{self.kind}:{self.label}"
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "id", f"{name}@{self.amount.normalize():f}")
        words = _in_words(self.kind, self.amount, self.label)
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "crossed", f"crossed {words}")


def _in_words(kind: StepKind, amount: Decimal, label: str) -> str:
    """A step in words; equal steps read the same (amounts are shown to the cent)."""
    name = _STEP_NAMES.get(kind, "the alert step")
    money = fmt_money(amount)
    if label == "litellm":
        return f"{name} {money} (set in LiteLLM)"
    if label.startswith("$"):
        return f"{name} {money}"
    return f"{name} {label} ({money})"


_STEP_NAMES = {StepKind.SOFT: "the soft limit", StepKind.HARD: "the hard limit"}


@record
class Alert:
    """The facts about one budget in one period, as every channel renders them."""

    rule: str
    scope: Scope
    entity_id: str
    label: str
    """How the entity is named: "team engineering", "key ci-bot (sk-...abcd)"."""
    period: Period
    kind: StepKind
    step: str
    """Identity of the step this is about ("soft@4000", "forecast@5000", "incident#2")."""
    step_label: str = ""
    spend: Decimal = Decimal(0)
    budget: Decimal | None = None
    step_amount: Decimal | None = None
    level: str | None = None
    """For a resolution: the step spend is back at (None: under every step)."""
    measurement: Measurement | None = None
    projection: Projection | None = None
    entity: Entity | None = None
    data_as_of: datetime | None = None
    description: str = ""
    detail: str = ""
    """One sentence on what happened, e.g. "crossed the soft limit 80% ($4,000.00)"."""
    attribution: Attribution | None = None
    """Who drove the spend, attached by the daemon before the notice is rendered."""

    @property
    def ref(self) -> EntityRef:
        return EntityRef(self.scope, self.entity_id)

    @property
    def ratio(self) -> Decimal | None:
        return ratio(self.spend, self.budget)

    @property
    def budget_key(self) -> BudgetKey:
        return (self.rule, self.scope, self.entity_id)


def ratio(spend: Decimal, budget: Decimal | None) -> Decimal | None:
    """Spend over budget; None without a budget (none, zero or less)."""
    if budget is None or budget <= 0:
        return None
    return spend / budget


@record
class Decision:
    """What to do about one alert on one channel (or one action), and why."""

    reason: Reason
    action: Action
    alert: Alert
    channel: str | None = None
    event: NoticeEvent | None = None
    """For notices: what the ledger records."""
    step: str | None = None
    """Identity of the notice in its thread (the alert's step, or a repeat/incident id)."""
    level: str | None = None
    """For notices: the step in force after this notice."""
    streak: int | None = None
    """For forecast bookkeeping: the new consecutive-over count."""
    note: str = ""

    @property
    def thread(self) -> ThreadKey:
        a = self.alert
        return (a.rule, a.scope, a.entity_id, a.period.key, self.channel or "")

    @property
    def identity(self) -> tuple[str, Scope, str, str, str, str, str]:
        """Dedup identity: rule, scope, entity, period, step, channel, event."""
        a = self.alert
        event = self.event.value if self.event else self.action.value
        return (
            a.rule,
            a.scope,
            a.entity_id,
            a.period.key,
            self.step or a.step,
            self.channel or "",
            event,
        )


def forecast_memory(decision: Decision) -> ForecastMemory | None:
    """The streak to store for a forecast bookkeeping decision."""
    if decision.streak is None:
        return None
    return ForecastMemory(period=decision.alert.period.key, streak=decision.streak)


def by_reason(decisions: Iterable[Decision]) -> Mapping[Reason, int]:
    """Count decisions per reason (for logs and metrics)."""
    counts: dict[Reason, int] = {}
    for d in decisions:
        counts[d.reason] = counts.get(d.reason, 0) + 1
    return counts
