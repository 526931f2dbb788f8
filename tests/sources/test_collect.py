"""Collecting a snapshot: all sources at once, each failure contained, freshness recorded."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import pytest

from watchdog.decisions import Reason
from watchdog.errors import SourceError
from watchdog.evaluate import evaluate
from watchdog.model import DailySeries, Entity, EntityRef, LedgerState, Scope, Snapshot
from watchdog.rules import Routing, Rule, RuleSet
from watchdog.snapshot import collect
from watchdog.sources import Reading
from watchdog.testing import FakeSource

EARLIER = datetime(2026, 11, 18, 11, 50, tzinfo=UTC)
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
FAST = timedelta(milliseconds=50)
PROXY = EntityRef(Scope.GLOBAL, "proxy")
PROXY_ENTITY = Entity(scope=Scope.GLOBAL, id="proxy", spend=Decimal("0.5"))


def team(name: str, spend: str = "1", *, source: str = "litellm") -> Entity:
    return Entity(scope=Scope.TEAM, id=name, spend=Decimal(spend), name=name, source=source)


class ScriptedSource:
    """A source that returns a prepared reading, hangs, or raises."""

    def __init__(
        self, name: str, reading: Reading | None = None, *, error: Exception | None = None
    ) -> None:
        self._name = name
        self.reading = reading
        self.error = error
        self.cancelled = False

    @property
    def name(self) -> str:
        return self._name

    async def read(self, *, rules: RuleSet, now: datetime) -> Reading:
        del rules, now
        if self.error is not None:
            raise self.error
        if self.reading is None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        assert self.reading is not None
        return self.reading

    async def aclose(self) -> None:
        return None


async def first_cycle() -> Snapshot:
    """A snapshot where LiteLLM and Prometheus both answered at EARLIER."""
    litellm = Reading(
        "litellm",
        EARLIER,
        entities=MappingProxyType(
            {
                Scope.TEAM: MappingProxyType({"eng": team("eng")}),
                Scope.GLOBAL: MappingProxyType({"proxy": PROXY_ENTITY}),
            }
        ),
        daily=MappingProxyType({PROXY: DailySeries(date(2026, 10, 19))}),
        requests=7,
    )
    prometheus = Reading(
        "prometheus",
        EARLIER,
        rates=MappingProxyType({EntityRef(Scope.TEAM, "eng"): {"1h": Decimal("0.5")}}),
        queries=MappingProxyType({"by model": {"gpt": Decimal(4)}}),
    )
    return await collect(
        [ScriptedSource("litellm", litellm), ScriptedSource("prometheus", prometheus)],
        rules=RuleSet(),
        now=EARLIER,
        previous=None,
    )


async def test_every_source_is_read_and_merged() -> None:
    """Entities, series, rates and query results of all sources end up in one snapshot."""
    snapshot = await first_cycle()
    assert snapshot.get(EntityRef(Scope.TEAM, "eng")) == team("eng")
    assert set(snapshot.daily) == {PROXY}
    assert snapshot.rates[EntityRef(Scope.TEAM, "eng")] == {"1h": Decimal("0.5")}
    assert snapshot.queries == {"by model": {"gpt": Decimal(4)}}
    assert {n: (s.ok, s.data_as_of, s.requests) for n, s in snapshot.sources.items()} == {
        "litellm": (True, EARLIER, 7),
        "prometheus": (True, EARLIER, 0),
    }


async def test_a_failed_source_keeps_its_last_data_with_its_old_time() -> None:
    """LiteLLM down: its entities stay, marked as of their last reading and not ok."""
    previous = await first_cycle()
    down = ScriptedSource("litellm", error=SourceError("LiteLLM down", retryable=True))
    prometheus = FakeSource("prometheus")
    snapshot = await collect([down, prometheus], rules=RuleSet(), now=NOW, previous=previous)
    status = snapshot.sources["litellm"]
    assert (status.ok, status.data_as_of, status.error) == (False, EARLIER, "LiteLLM down")
    assert snapshot.get(EntityRef(Scope.TEAM, "eng")) == team("eng")
    assert set(snapshot.daily) == {PROXY}
    assert snapshot.sources["prometheus"].ok


async def test_prometheus_down_keeps_query_results_but_not_rates() -> None:
    """Old rates would silently steer forecasts, so they go; query results stay, marked stale."""
    previous = await first_cycle()
    down = ScriptedSource("prometheus", error=SourceError("refused", retryable=True))
    snapshot = await collect(
        [FakeSource("litellm"), down], rules=RuleSet(), now=NOW, previous=previous
    )
    assert snapshot.queries == {"by model": {"gpt": Decimal(4)}}
    assert snapshot.rates == {}
    assert snapshot.sources["prometheus"].data_as_of == EARLIER


async def test_a_source_that_never_answered_has_no_time() -> None:
    """Failing from the first cycle: data_as_of is None, so the core says "never read"."""
    down = ScriptedSource("litellm", error=SourceError("refused", retryable=True))
    snapshot = await collect([down], rules=RuleSet(), now=NOW, previous=None)
    assert snapshot.sources["litellm"].data_as_of is None
    assert snapshot.count() == 0


async def test_a_hanging_source_hits_its_deadline_and_others_finish() -> None:
    """One source past its deadline is cancelled alone; the others' readings arrive."""
    hanging = ScriptedSource("prometheus")
    snapshot = await collect(
        [FakeSource("litellm", [team("eng")]), hanging],
        rules=RuleSet(),
        now=NOW,
        previous=None,
        deadline=FAST,
    )
    assert hanging.cancelled
    assert snapshot.sources["prometheus"].error == "no reading within 0.05s"
    assert snapshot.sources["litellm"].ok
    assert snapshot.get(EntityRef(Scope.TEAM, "eng")) is not None


async def test_an_unexpected_error_is_contained_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug in one source fails that source only, with a traceback in the log."""
    broken = ScriptedSource("litellm", error=KeyError("keys"))
    snapshot = await collect(
        [broken, FakeSource("prometheus")], rules=RuleSet(), now=NOW, previous=None
    )
    assert snapshot.sources["litellm"].error == "'keys'"
    assert snapshot.sources["prometheus"].ok
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


async def test_fresh_data_wins_over_carried_data() -> None:
    """An entity another source reports this cycle is never replaced by a stale copy."""
    previous = await first_cycle()
    down = ScriptedSource("litellm", error=SourceError("down", retryable=True))
    fresh = FakeSource("file", [team("eng", "9", source="file")])
    snapshot = await collect([fresh, down], rules=RuleSet(), now=NOW, previous=previous)
    entity = snapshot.get(EntityRef(Scope.TEAM, "eng"))
    assert entity is not None
    assert entity.spend == Decimal(9)


async def test_a_reading_can_stand_for_other_sources() -> None:
    """A snapshot file holding query results makes "prometheus" as fresh as the file."""
    reading = Reading("litellm", NOW, stands_for=frozenset({"prometheus"}), requests=0)
    snapshot = await collect(
        [ScriptedSource("litellm", reading)], rules=RuleSet(), now=NOW, previous=None
    )
    assert {n: s.data_as_of for n, s in snapshot.sources.items()} == {
        "litellm": NOW,
        "prometheus": NOW,
    }


async def test_the_core_reports_a_source_down_and_its_budgets_stale() -> None:
    """Carried data past stale_after produces a meta-alert and no budget alerts or resets."""
    previous = await first_cycle()
    later = EARLIER + timedelta(minutes=30)
    down = ScriptedSource("litellm", error=SourceError("LiteLLM refused", retryable=True))
    snapshot = await collect([down], rules=RuleSet(), now=later, previous=previous)
    rule = Rule.model_validate({"name": "teams", "scope": "team", "match": "*", "amount": 0.5})
    rules = RuleSet(rules=(rule,), routing=Routing(default=("ops",)))
    reasons = {d.reason for d in evaluate(rules, snapshot, LedgerState(), later)}
    assert reasons == {Reason.SOURCE_DOWN, Reason.STALE}
