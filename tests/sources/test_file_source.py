"""The snapshot file: written and read back without loss, and served as a source."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest

from tests.conftest import ROOT
from watchdog import snapshot
from watchdog.errors import SourceError
from watchdog.model import Entity, EntityRef, Sample, Scope, Snapshot, SourceStatus
from watchdog.rules import RuleSet
from watchdog.sources.file import FileSource

EXAMPLE = ROOT / "examples" / "snapshot.json"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def test_the_file_is_data_as_of_the_moment_it_was_read() -> None:
    """The example snapshot's entities come back as a fresh reading named litellm."""
    reading = await FileSource(EXAMPLE).read(rules=RuleSet(), now=NOW)
    saved = snapshot.load(EXAMPLE).snapshot
    assert reading.source == "litellm"
    assert reading.taken_at == NOW
    assert reading.entities == saved.entities
    assert reading.daily == saved.daily


async def test_query_results_make_it_stand_for_prometheus(tmp_path: Path) -> None:
    """A file with query results speaks for Prometheus too, so query budgets are not stale."""
    path = tmp_path / "with-queries.json"
    snap = Snapshot(
        taken_at=NOW, queries=MappingProxyType({"by model": {"gpt-4o": Decimal("12.5")}})
    )
    snapshot.save(path, snap)
    reading = await FileSource(path).read(rules=RuleSet(), now=NOW)
    assert reading.stands_for == frozenset({"prometheus"})
    assert reading.queries == {"by model": {"gpt-4o": Decimal("12.5")}}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(None, "cannot read snapshot", id="missing file"),
        pytest.param("{oops", "not valid JSON", id="not JSON"),
        pytest.param('{"keys": []}', "not a watchdog snapshot", id="not a snapshot"),
    ],
)
async def test_an_unreadable_file_is_a_source_error(
    tmp_path: Path, content: str | None, fragment: str
) -> None:
    """The source fails with the file's name and what is wrong with it."""
    path = tmp_path / "snap.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SourceError) as caught:
        await FileSource(path).read(rules=RuleSet(), now=NOW)
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)


def test_a_snapshot_survives_the_round_trip() -> None:
    """Money, times, statuses, metadata and history read back exactly as written."""
    entity = Entity(
        scope=Scope.TEAM,
        id="t1",
        spend=Decimal("0.05384000000000001"),
        name="eng",
        names=("t1", "eng"),
        max_budget=Decimal(5),
        budget_reset_at=datetime(2026, 12, 1, tzinfo=UTC),
        metadata=MappingProxyType({"cost_center": "cc-100", "weight": 0.5}),
    )
    original = Snapshot(
        taken_at=NOW,
        entities=MappingProxyType({Scope.TEAM: MappingProxyType({"t1": entity})}),
        sources=MappingProxyType(
            {"litellm": SourceStatus("litellm", False, NOW, error="HTTP 502", requests=9)}
        ),
        rates=MappingProxyType({entity.ref: MappingProxyType({"1h": Decimal("0.25")})}),
    )
    history = {entity.ref: (Sample(NOW, Decimal("0.05")),)}
    loaded = snapshot.loads(snapshot.dumps(original, history))
    assert loaded.snapshot == original
    assert loaded.history == history


def test_decimal_metadata_is_written_as_a_number() -> None:
    """Metadata holding a Decimal (JSON read exactly) is saved as a JSON number."""
    entity = Entity(scope=Scope.KEY, id="k", spend=Decimal(0), metadata={"weight": Decimal("0.5")})
    text = snapshot.dumps(
        Snapshot(taken_at=NOW, entities={Scope.KEY: {"k": entity}}),
    )
    assert '"weight": 0.5' in text
    assert snapshot.loads(text).snapshot.get(EntityRef(Scope.KEY, "k")) is not None
