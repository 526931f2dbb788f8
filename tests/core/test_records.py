"""Records: value classes that the type checker treats as frozen, cheap to build at run time."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from mypy import api as mypy_api

from watchdog.measure import Basis, Measurement
from watchdog.model import Sample

AT = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def test_records_compare_and_hash_by_value() -> None:
    a = Measurement(Decimal("1.50"), Basis.LITELLM, AT, complete=True)
    b = Measurement(Decimal("1.5"), Basis.LITELLM, AT, complete=True)
    c = Measurement(Decimal("2"), Basis.LITELLM, AT, complete=True)
    assert a == b
    assert hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2


def test_records_are_slotted_and_copied_with_replace() -> None:
    sample = Sample(AT, Decimal(3))
    assert not hasattr(sample, "__dict__")
    later = dataclasses.replace(sample, spend=Decimal(4))
    assert (sample.spend, later.spend) == (Decimal(3), Decimal(4))
    assert later.at is sample.at


def test_the_type_checker_rejects_changing_a_record(tmp_path: Path) -> None:
    """What keeps records immutable: mypy strict runs in CI over the package and the tests."""
    snippet = tmp_path / "change.py"
    snippet.write_text(
        "from datetime import UTC, datetime\n"
        "from decimal import Decimal\n"
        "from watchdog.model import Sample\n"
        "s = Sample(datetime.now(UTC), Decimal(1))\n"
        "s.spend = Decimal(2)\n"
    )
    out, _, status = mypy_api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", str(snippet)]
    )
    assert status == 1, out
    assert 'Property "spend" defined in "Sample" is read-only' in out
    assert "change.py:5" in out
