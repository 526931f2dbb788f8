"""Dimension budgets from stored callbacks: spend per value in each rule's period, and freshness.

Each cycle, every `scope: dimension` rule gets the spend of each value of its attribute (e.g.
each department) within its current period, read from the stored requests, under the source
name "callbacks". A push source cannot tell a quiet proxy from a broken pipe, so "callbacks"
counts as fresh while the store answers, unless no callback has arrived for `stale_after`
while LiteLLM's own proxy-wide spend kept growing: then the callbacks are stalled, their
budgets are stale (nothing fires on them) and one "source unavailable" alert says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from watchdog import dimensions
from watchdog.errors import StoreError
from watchdog.model import Scope, Snapshot, SourceStatus
from watchdog.money import fmt_money
from watchdog.rules import Rule, RuleSet
from watchdog.store.usage import RequestStats, UsageReader
from watchdog.windows import current_period

SOURCE = "callbacks"
LITELLM = "litellm"
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
NOT_ENABLED = (
    "dimension budgets count LiteLLM's callbacks, which are off: set http.callback_token and "
    "point LiteLLM's generic_api logger at /callbacks/litellm (see docs/callbacks.md)"
)


@dataclass
class Watch:
    """What the daemon remembers between cycles about callback arrivals."""

    received: datetime | None = None
    """The newest arrival seen."""
    since: datetime | None = None
    """When a cycle first saw that arrival (no newer one since)."""
    spend: Decimal | None = None
    """LiteLLM's proxy-wide spend at that moment."""
    answered: datetime | None = None
    """When the store last answered."""

    def judge(
        self, stats: RequestStats, spend: Decimal | None, now: datetime, stale_after: timedelta
    ) -> str:
        """Why the callbacks look stalled; empty while they look alive."""
        self.answered = now
        if self.since is None or stats.last_received_at != self.received:
            self.received, self.since, self.spend = stats.last_received_at, now, spend
            return ""
        if spend is not None and (self.spend is None or spend < self.spend):
            self.spend = spend  # first reading, or LiteLLM's monthly total started over
            return ""
        quiet = now - self.since
        grew = spend - self.spend if spend is not None and self.spend is not None else None
        if quiet <= stale_after or grew is None or grew <= 0:
            return ""
        minutes = int(quiet.total_seconds() // 60)
        return (
            f"no callback from LiteLLM for {minutes} min while its spend grew by "
            f"{fmt_money(grew)}: is its generic_api logger pointed at /callbacks/litellm "
            "with the bearer token?"
        )


async def with_callbacks(
    snapshot: Snapshot,
    *,
    store: UsageReader,
    rules: RuleSet,
    headers: Sequence[str],
    enabled: bool,
    watch: Watch,
    now: datetime,
) -> Snapshot:
    """The snapshot with every dimension rule's spend and the "callbacks" source status."""
    chosen = [r for r in rules.enabled() if r.scope is Scope.DIMENSION]
    if not chosen and not enabled:
        return snapshot
    queries: dict[str, Mapping[str, Decimal]] = {}
    if not enabled:
        status = SourceStatus(SOURCE, ok=False, data_as_of=None, error=NOT_ENABLED)
    else:
        try:
            stats = await store.request_stats()
            queries = await _spend(store, chosen, headers, now)
        except StoreError as exc:
            status = SourceStatus(SOURCE, ok=False, data_as_of=watch.answered, error=str(exc))
        else:
            problem = watch.judge(stats, _litellm_spend(snapshot), now, rules.stale_after)
            as_of = now if not problem else (stats.last_received_at or watch.since)
            status = SourceStatus(SOURCE, ok=not problem, data_as_of=as_of, error=problem or None)
    return replace(
        snapshot,
        queries=MappingProxyType({**snapshot.queries, **queries}),
        sources=MappingProxyType({**snapshot.sources, SOURCE: status}),
    )


async def _spend(
    store: UsageReader, chosen: Sequence[Rule], headers: Sequence[str], now: datetime
) -> dict[str, Mapping[str, Decimal]]:
    """Spend per value for each rule, one query per (attribute, period)."""
    found: dict[tuple[str, datetime, datetime], Mapping[str, Decimal]] = {}
    out: dict[str, Mapping[str, Decimal]] = {}
    for rule in chosen:
        key = dimensions.resolve(rule.dimension or "", headers)
        if key is None:
            continue  # `check` and reloads report the unknown dimension
        period = current_period(rule.period, rule.timezone, now, anchor=rule.anchor)
        span = (key, period.start, period.end or FOREVER)
        if span not in found:
            spenders = await store.request_spend(key, start=span[1], end=span[2])
            found[span] = MappingProxyType({s.value: s.spend for s in spenders})
        out[rule.name] = found[span]
    return out


def _litellm_spend(snapshot: Snapshot) -> Decimal | None:
    """LiteLLM's proxy-wide spend as last read, when that reading is current."""
    status = snapshot.sources.get(LITELLM)
    if status is None or not status.ok:
        return None
    totals = [e.spend for e in snapshot.of(Scope.GLOBAL).values() if e.source == LITELLM]
    return sum(totals, Decimal(0)) if totals else None


def unknown_dimensions(rules: RuleSet, headers: Sequence[str]) -> list[tuple[Rule, str]]:
    """Dimension rules whose attribute is neither built in nor a kept header, with the fix."""
    return [
        (
            rule,
            (
                f"dimension: unknown attribute {rule.dimension!r}; use one of "
                f"{dimensions.accepted(headers)}, or add the header to "
                "http.callback_headers in the ops config"
            ),
        )
        for rule in rules.rules
        if rule.scope is Scope.DIMENSION
        and dimensions.resolve(rule.dimension or "", headers) is None
    ]
