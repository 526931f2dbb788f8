"""Spend history kept in memory beside the database: what to store next, what the core reads.

The replica that records samples is the one that reads them, so the samples it wrote are
appended here instead of being read back every cycle. Loaded once per store (and again after
the store becomes leader, when another replica may have written meanwhile).

Readings older than `DENSE` are thinned to the last one of each UTC hour, keeping both sides
of every counter reset: an entity that spends all day would otherwise keep 288 readings a
day for the whole retention (1.6 MB of memory over 35 days; 0.22 MB thinned). What the core
reads stays
exact where it matters: growth between kept readings (they telescope, resets included) and
the reading before each whole hour (period starts in zones a whole number of hours from UTC).

Readings are kept per scope under the entity's id (the id string the entity itself holds),
and an entity with one reading keeps that reading alone: at 100k entities, a reference and a
tuple of one for each came to 13 MB.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence, ValuesView
from datetime import UTC, datetime, timedelta
from typing import TypeVar, overload

from watchdog.measure import sample_at
from watchdog.model import EMPTY, EntityRef, Sample, Scope, Snapshot

DENSE = timedelta(days=2)
"""Readings this recent are all kept (forecasts' last-hour and trailing paces read them)."""
THIN_EVERY = timedelta(hours=1)
"""How often readings that have aged past `DENSE` are thinned in memory."""
THIN_SPAN = timedelta(days=1)
"""How far back of `DENSE` each pruning thins stored readings (a day: a daemon down for a few
hours catches up; memory thins whatever the store still holds when it loads)."""


Kept = Sample | tuple[Sample, ...]
"""An entity's readings, oldest first: the reading itself while it is the only one."""

ByScope = dict[Scope, dict[str, Kept]]
_T = TypeVar("_T")


def _all(kept: Kept) -> tuple[Sample, ...]:
    return (kept,) if isinstance(kept, Sample) else kept


def _last(kept: Kept) -> Sample:
    return kept if isinstance(kept, Sample) else kept[-1]


class Readings(Mapping[EntityRef, tuple[Sample, ...]]):
    """The history as the core reads it: each entity's readings, oldest first."""

    __slots__ = ("_by_scope",)

    def __init__(self, by_scope: Mapping[Scope, Mapping[str, Kept]]) -> None:
        self._by_scope = by_scope

    def __getitem__(self, ref: EntityRef) -> tuple[Sample, ...]:
        kept = self._by_scope.get(ref.scope, EMPTY).get(ref.id)
        if kept is None:
            raise KeyError(ref)
        return _all(kept)

    @overload
    def get(self, ref: EntityRef, /) -> tuple[Sample, ...] | None: ...
    @overload
    def get(self, ref: EntityRef, default: tuple[Sample, ...], /) -> tuple[Sample, ...]: ...
    @overload
    def get(self, ref: EntityRef, default: _T, /) -> tuple[Sample, ...] | _T: ...
    def get(self, ref: EntityRef, default: object = None, /) -> object:
        """`Mapping.get` without raising and catching KeyError for each entity not held."""
        kept = self._by_scope.get(ref.scope, EMPTY).get(ref.id)
        return default if kept is None else _all(kept)

    def __iter__(self) -> Iterator[EntityRef]:
        for scope, by_id in self._by_scope.items():
            for entity in by_id:
                yield EntityRef(scope, entity)

    def __len__(self) -> int:
        return sum(map(len, self._by_scope.values()))

    def values(self) -> ValuesView[tuple[Sample, ...]]:
        return _Values(self)


class _Values(ValuesView[tuple[Sample, ...]]):
    """The readings of every entity, without a reference built for each."""

    _mapping: Readings

    def __iter__(self) -> Iterator[tuple[Sample, ...]]:
        for by_id in self._mapping._by_scope.values():
            for kept in by_id.values():
                yield _all(kept)


class Batch:
    """Readings to store, as columns: on a daemon's first cycle at 100k entities, a pair and a
    reference for each reading were 14 MB more at the cycle's end."""

    __slots__ = ("ids", "samples", "scopes")

    def __init__(self) -> None:
        self.scopes: list[Scope] = []
        self.ids: list[str] = []
        self.samples: list[Sample] = []

    def append(self, scope: Scope, entity: str, sample: Sample) -> None:
        self.scopes.append(scope)
        self.ids.append(entity)
        self.samples.append(sample)

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[tuple[EntityRef, Sample]]:
        for scope, entity, sample in zip(self.scopes, self.ids, self.samples, strict=True):
            yield EntityRef(scope, entity), sample


class History:
    """Samples per entity, oldest first, trimmed to the retention (keeping one baseline)."""

    def __init__(self, *, resolution: timedelta, retention: timedelta) -> None:
        self.resolution = resolution
        self.retention = retention
        self._samples: ByScope | None = None
        self._thinned: datetime | None = None
        """Readings before this instant are thinned already (None: none are)."""
        self._viewed = False
        """A view handed out reads `_samples` as they are: the next change copies them."""

    @property
    def loaded(self) -> bool:
        return self._samples is not None

    def load(self, rows: Iterable[tuple[EntityRef, Sample]]) -> None:
        """Fill from stored rows, ordered by entity then time."""
        self._samples = {}
        self._thinned = None
        self._viewed = False
        self.add(rows)

    def forget(self) -> None:
        self._samples = None
        self._thinned = None
        self._viewed = False

    def _writable(self) -> ByScope:
        """The readings, copied first if a view reads them (copy on write)."""
        assert self._samples is not None, "load the history first"
        if self._viewed:
            self._samples = {scope: dict(by_id) for scope, by_id in self._samples.items()}
            self._viewed = False
        return self._samples

    def new_samples(self, snapshot: Snapshot) -> Batch:
        """Readings worth storing: spend changed and a resolution passed since the last one.

        A reading is dated when its source read it (else when the snapshot was taken).
        """
        assert self._samples is not None, "load the history first"
        out = Batch()
        for scope, entities in snapshot.entities.items():
            by_id = self._samples.get(scope, {})
            for entity in entities.values():
                status = snapshot.sources.get(entity.source)
                at = status.data_as_of if status and status.data_as_of else snapshot.taken_at
                known = by_id.get(entity.id)
                last = None if known is None else _last(known)
                if last is None or (entity.spend != last.spend and at - last.at >= self.resolution):
                    out.append(scope, entity.id, Sample(at, entity.spend))
        return out

    def add(self, rows: Iterable[tuple[EntityRef, Sample]]) -> None:
        assert self._samples is not None, "load the history first"
        samples: ByScope | None = None
        for ref, sample in rows:
            if samples is None:
                samples = self._writable()
            by_id = samples.get(ref.scope)
            if by_id is None:
                by_id = samples[ref.scope] = {}
            known = by_id.get(ref.id)
            by_id[ref.id] = sample if known is None else (*_all(known), sample)

    def view(self, now: datetime, baselines: Sequence[datetime] = ()) -> Readings:
        """The history the core reads, trimmed to the retention; each entity keeps its last
        reading at or before each of `baselines` however old (periods' starts).

        The view reads the history's own dicts, which are copied before the next change
        (`add`, trimming, thinning), so a view never changes once handed out. Copying them for
        every view held 2.4 MB more at a cycle's peak at 100k entities, and most cycles
        store no reading (one per entity every `resolution` at most).
        """
        assert self._samples is not None, "load the history first"
        cutoff = now - self.retention
        older = sorted(b for b in baselines if b < cutoff)
        held = len(older) + 1  # at most this many readings at or before the cutoff stay
        for scope, by_id in list(self._samples.items()):
            for entity, kept in by_id.items():
                if isinstance(kept, tuple) and len(kept) > held and kept[held].at <= cutoff:
                    self._writable()[scope][entity] = _compact(trim(kept, cutoff, older))
        self._thin(now - DENSE)
        self._viewed = True
        return Readings(self._samples)

    def _thin(self, until: datetime) -> None:
        """Thin what aged past `DENSE` since the last pass (everything on the first)."""
        assert self._samples is not None
        since = self._thinned
        if since is not None and until - since < THIN_EVERY:
            return
        for scope, by_id in list(self._samples.items()):
            for entity, kept in by_id.items():
                if isinstance(kept, tuple) and len(kept) > 2 and kept[0].at < until:
                    self._writable()[scope][entity] = _compact(thin(kept, since, until))
        self._thinned = until


def _compact(samples: tuple[Sample, ...]) -> Kept:
    return samples[0] if len(samples) == 1 else samples


def trim(
    samples: tuple[Sample, ...], cutoff: datetime, baselines: Sequence[datetime] = ()
) -> tuple[Sample, ...]:
    """Samples after `cutoff`, plus the last one at or before it (the baseline there) and the
    last one at or before each of `baselines` (instants before the cutoff)."""
    index = bisect_left(samples, cutoff, key=sample_at)
    exact = index < len(samples) and samples[index].at == cutoff
    start = index if exact else max(0, index - 1)
    last = (bisect_right(samples, b, key=sample_at) - 1 for b in baselines)
    kept = sorted({i for i in last if 0 <= i < start})
    if not kept:
        return samples[start:]
    return (*(samples[i] for i in kept), *samples[start:])


def thin(
    samples: tuple[Sample, ...], since: datetime | None, until: datetime
) -> tuple[Sample, ...]:
    """`samples` with those in [since, until) thinned (see the module's docstring).

    A reading there is kept when it is the last of its UTC hour, the last before a drop of
    the counter, or the first after one; readings outside the range stay as they are.
    """
    start = 0 if since is None else bisect_left(samples, since, key=sample_at)
    end = bisect_left(samples, until, key=sample_at)
    if end - start < 2:
        return samples
    last = len(samples) - 1
    kept = [
        samples[i]
        for i in range(start, end)
        if i == last or _kept(samples[i - 1] if i else None, samples[i], samples[i + 1])
    ]
    if len(kept) == end - start:
        return samples
    return (*samples[:start], *kept, *samples[end:])


def _kept(before: Sample | None, sample: Sample, after: Sample) -> bool:
    return (
        _hour(sample.at) != _hour(after.at)
        or after.spend < sample.spend
        or (before is not None and sample.spend < before.spend)
    )


def _hour(at: datetime) -> tuple[int, int, int, int]:
    utc = at.astimezone(UTC)
    return utc.year, utc.month, utc.day, utc.hour
