"""Spend history kept in memory beside the database: what to store next, what the core reads.

The replica that records samples is the one that reads them, so the samples it wrote are
appended here instead of being read back every cycle. Loaded once per store (and again after
the store becomes leader, when another replica may have written meanwhile).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from watchdog.model import EntityRef, Sample, Snapshot


class History:
    """Samples per entity, oldest first, trimmed to the retention (keeping one baseline)."""

    def __init__(self, *, resolution: timedelta, retention: timedelta) -> None:
        self.resolution = resolution
        self.retention = retention
        self._samples: dict[EntityRef, tuple[Sample, ...]] | None = None

    @property
    def loaded(self) -> bool:
        return self._samples is not None

    def load(self, rows: Iterable[tuple[EntityRef, Sample]]) -> None:
        """Fill from stored rows, ordered by entity then time."""
        grouped: dict[EntityRef, list[Sample]] = {}
        for ref, sample in rows:
            grouped.setdefault(ref, []).append(sample)
        self._samples = {ref: tuple(samples) for ref, samples in grouped.items()}

    def forget(self) -> None:
        self._samples = None

    def new_samples(self, snapshot: Snapshot) -> list[tuple[EntityRef, Sample]]:
        """Readings worth storing: spend changed and a resolution passed since the last one.

        A reading is dated when its source read it (else when the snapshot was taken).
        """
        assert self._samples is not None, "load the history first"
        out = []
        for entities in snapshot.entities.values():
            for entity in entities.values():
                status = snapshot.sources.get(entity.source)
                at = status.data_as_of if status and status.data_as_of else snapshot.taken_at
                ref = entity.ref
                known = self._samples.get(ref)
                last = known[-1] if known else None
                if last is None or (entity.spend != last.spend and at - last.at >= self.resolution):
                    out.append((ref, Sample(at, entity.spend)))
        return out

    def add(self, rows: Iterable[tuple[EntityRef, Sample]]) -> None:
        assert self._samples is not None, "load the history first"
        for ref, sample in rows:
            self._samples[ref] = (*self._samples.get(ref, ()), sample)

    def view(self, now: datetime) -> Mapping[EntityRef, tuple[Sample, ...]]:
        """The history the core reads, trimmed to the retention."""
        assert self._samples is not None, "load the history first"
        cutoff = now - self.retention
        for ref, samples in self._samples.items():
            if len(samples) > 1 and samples[1].at <= cutoff:
                self._samples[ref] = trim(samples, cutoff)
        return MappingProxyType(dict(self._samples))


def trim(samples: tuple[Sample, ...], cutoff: datetime) -> tuple[Sample, ...]:
    """Samples after `cutoff`, plus the last one at or before it (the baseline there)."""
    index = bisect_left(samples, cutoff, key=lambda s: s.at)
    if index < len(samples) and samples[index].at == cutoff:
        return samples[index:]
    return samples[max(0, index - 1) :]
