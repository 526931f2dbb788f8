"""`record`: the immutable value classes the core builds by the hundred thousand each cycle.

A record is frozen to the type checker (mypy strict rejects any assignment to its fields) and a
plain slotted dataclass at run time. A frozen dataclass sets each field through
`object.__setattr__` in its `__init__`, which costs about 4 µs for an `Alert`'s twenty fields
against 1 µs here, and the core builds a few of these per budget, 100k budgets a cycle at the
sizes the benchmarks cover. Records compare and hash by value, as frozen dataclasses do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T]) -> type[T]:
    """Make `cls` a slotted dataclass, frozen to the type checker (see the module)."""
    return dataclass(slots=True, unsafe_hash=True)(cls)
