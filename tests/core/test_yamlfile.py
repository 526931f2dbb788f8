"""The YAML reader: plain data, the line and column of every key and value, clear errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from watchdog.yamlfile import YamlError, parse

RULES = """\
# Team budgets
budgets:
  - name: Engineering monthly
    scope: team
    alert_at: [50%, 75%]
    forecast: {min_elapsed: 3d}
"""


def located(text: str) -> list[tuple[int, int, str]]:
    """The problems of a text that must not parse, as (line, col, message)."""
    with pytest.raises(YamlError) as caught:
        parse(text, "teams.yaml")
    assert all(p.path == "teams.yaml" for p in caught.value.problems)
    return [(p.line, p.col, p.message) for p in caught.value.problems]


# Positions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "value_at", "key_at"),
    [
        pytest.param(("budgets",), (3, 3), (2, 1), id="the budgets list"),
        pytest.param(("budgets", 0), (3, 5), (3, 5), id="the first budget (no key: its value)"),
        pytest.param(("budgets", 0, "name"), (3, 11), (3, 5), id="a scalar value and its key"),
        pytest.param(("budgets", 0, "alert_at", 1), (5, 21), (5, 21), id="an item of a flow list"),
        pytest.param(
            ("budgets", 0, "forecast", "min_elapsed"), (6, 29), (6, 16), id="inside a flow mapping"
        ),
        pytest.param(("budgets", 0, "timezone"), (3, 5), (3, 5), id="a missing field: its budget"),
        pytest.param(("nowhere", 3), (2, 1), (2, 1), id="nothing enclosing: the document itself"),
    ],
)
def test_positions_of_values_and_keys(
    loc: tuple[str | int, ...], value_at: tuple[int, int], key_at: tuple[int, int]
) -> None:
    """Every value and key has its 1-based line and column; a missing one falls back outward."""
    doc = parse(RULES, "teams.yaml")
    assert doc.at(loc) == value_at
    assert doc.at(loc, key=True) == key_at


def test_problem_points_at_the_location() -> None:
    """Document.problem builds a file:line:col problem at a value or key."""
    doc = parse(RULES, "teams.yaml")
    problem = doc.problem(("budgets", 0, "scope"), "scope: nope", key=True)
    assert str(problem) == "teams.yaml:4:5: scope: nope"


def test_plain_data() -> None:
    """The data is plain dicts, lists, text and Decimal."""
    doc = parse(RULES, "teams.yaml")
    assert doc.data == {
        "budgets": [
            {
                "name": "Engineering monthly",
                "scope": "team",
                "alert_at": ["50%", "75%"],
                "forecast": {"min_elapsed": "3d"},
            }
        ]
    }


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="an empty file"),
        pytest.param("# only a comment\n", id="only comments"),
        pytest.param("---\n", id="only a document marker"),
    ],
)
def test_empty_documents_have_no_data(text: str) -> None:
    """A file with nothing in it parses to None, for the caller to explain."""
    assert parse(text, "teams.yaml").data is None


# YAML 1.2 scalars ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        pytest.param("no", "no", id="no is text (YAML 1.1 made it false)"),
        pytest.param("yes", "yes", id="yes is text"),
        pytest.param("on", "on", id="on is text"),
        pytest.param("off", "off", id="off is text"),
        pytest.param("y", "y", id="y is text"),
        pytest.param("true", True, id="true"),
        pytest.param("False", False, id="False"),
        pytest.param("null", None, id="null"),
        pytest.param("~", None, id="tilde"),
        pytest.param("", None, id="nothing"),
        pytest.param("5000", 5000, id="an integer"),
        pytest.param("-12", -12, id="a negative integer"),
        pytest.param("0", 0, id="zero"),
        pytest.param("0755", "0755", id="a leading zero keeps an id as text"),
        pytest.param("0x1F", 31, id="hexadecimal"),
        pytest.param("0o17", 15, id="octal with 0o"),
        pytest.param("1_000", "1_000", id="underscores are not YAML 1.2 numbers"),
        pytest.param("0.1", Decimal("0.1"), id="a decimal is Decimal, never float"),
        pytest.param("250.50", Decimal("250.50"), id="trailing zeros are kept"),
        pytest.param("1e3", Decimal("1E+3"), id="an exponent"),
        pytest.param(".5", Decimal("0.5"), id="a leading point"),
        pytest.param(".inf", ".inf", id="no infinities"),
        pytest.param("2026-01-05", "2026-01-05", id="dates stay text"),
        pytest.param("80%", "80%", id="a percentage is text"),
        pytest.param('"0.1"', "0.1", id="quoted numbers are text"),
        pytest.param("!!str 5000", "5000", id="an explicit string tag"),
        pytest.param("!!float abc", "abc", id="a float tag on text stays text"),
        pytest.param("!!int abc", "abc", id="an int tag on text stays text"),
        pytest.param("!!bool maybe", "maybe", id="a bool tag on text stays text"),
        pytest.param("!!python/object/apply:os.system [x]", ["x"], id="python tags run nothing"),
        pytest.param("!custom value", "value", id="unknown tags are ignored"),
    ],
)
def test_scalars(written: str, value: Any) -> None:
    """YAML 1.2 core scalars: only true/false are booleans, numbers are exact, tags run nothing."""
    data = parse(f"value: {written}\n", "f.yaml").data
    assert data == {"value": value}
    assert type(data["value"]) is type(value)


# Mistakes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "budgets:\n  - name: a\n    scope: team\n    scope: key\n",
            [(4, 5, "duplicate key 'scope' (first defined at line 3)")],
            id="a duplicate key in a budget",
        ),
        pytest.param(
            "a: 1\nb: 2\na: 3\n",
            [(3, 1, "duplicate key 'a' (first defined at line 1)")],
            id="a duplicate key at the top",
        ),
        pytest.param(
            "budgets:\n  - {name: a, name: b}\n",
            [(2, 15, "duplicate key 'name' (first defined at line 2)")],
            id="a duplicate key in a flow mapping",
        ),
        pytest.param(
            "a: 1\na: 2\na: 3\n",
            [(2, 1, "duplicate key 'a'"), (3, 1, "duplicate key 'a'")],
            id="every repeat is reported",
        ),
        pytest.param(
            "? [a, b]\n: 1\n",
            [(1, 3, "keys must be plain names, got a list or mapping")],
            id="a list as a key",
        ),
        pytest.param("~: 1\n", [(1, 1, "keys must be plain names, got '~'")], id="a null key"),
        pytest.param("true: 1\n", [(1, 1, "keys must be plain names, got 'true'")], id="true"),
        pytest.param(
            "a: &a [*a]\n",
            [(1, 4, "an alias (*name) refers to a value that contains it")],
            id="an alias inside its own anchor",
        ),
        pytest.param(
            "base: &b [1]\nitem:\n  <<: *b\n",
            [(3, 3, "<<: expected an anchored mapping")],
            id="merging a list",
        ),
        pytest.param(
            "a: &a\n  k: 1\n  <<: *a\n",
            [(3, 3, "<<: expected an anchored mapping")],
            id="a mapping merging itself",
        ),
    ],
)
def test_structural_mistakes(text: str, expected: list[tuple[int, int, str]]) -> None:
    """Duplicate keys, odd keys and broken aliases are located problems, all of them."""
    problems = located(text)
    assert [(line, col) for line, col, _ in problems] == [(line, col) for line, col, _ in expected]
    for (_, _, message), (_, _, fragment) in zip(problems, expected, strict=True):
        assert fragment in message


@pytest.mark.parametrize(
    ("text", "line", "col", "fragment"),
    [
        pytest.param(
            "budgets:\n\t- name: a\n",
            2,
            1,
            "tab character: YAML indentation must use spaces",
            id="a tab at the start of a line",
        ),
        pytest.param(
            "budgets:\n  - name: a\n  \tscope: team\n",
            3,
            3,
            "tab character",
            id="a tab after spaces",
        ),
        pytest.param(
            "a: [1, 2\n", 2, 1, "not valid YAML: expected ',' or ']'", id="an unclosed list"
        ),
        pytest.param('a: "x\n', 2, 1, "not valid YAML", id="an unclosed quote"),
        pytest.param(
            "a: 1\n  b: 2\n",
            2,
            4,
            "put text that contains ': ' in quotes",
            id="a colon inside text",
        ),
        pytest.param(
            "soft_limit: %80\n",
            1,
            13,
            'put a percentage in quotes ("80%")',
            id="a percentage sign first",
        ),
        pytest.param("a: 1\n---\nb: 2\n", 2, 1, "single document", id="two documents"),
        pytest.param("a: *nope\n", 1, 4, "undefined alias 'nope'", id="an unknown alias"),
    ],
)
def test_syntax_errors(text: str, line: int, col: int, fragment: str) -> None:
    """Syntax errors are located at PyYAML's mark, with a hint for the usual causes."""
    [(got_line, got_col, message)] = located(text)
    assert (got_line, got_col) == (line, col)
    assert fragment in message


# Anchors and merge keys ---------------------------------------------------------------------

MERGED = """\
base: &base
  scope: team
  period: monthly
extra: &extra
  period: weekly
  timezone: UTC
item:
  <<: [*base, *extra]
  scope: key
"""


def test_merge_keys_own_keys_win_then_earlier_mappings() -> None:
    """`<<:` merges anchored mappings: the mapping's own keys win, then the first merged one."""
    doc = parse(MERGED, "f.yaml")
    assert doc.data["item"] == {"scope": "key", "period": "monthly", "timezone": "UTC"}
    assert doc.at(("item", "scope")) == (9, 10)
    assert doc.at(("item", "period")) == (3, 11)
    assert doc.at(("item", "timezone"), key=True) == (6, 3)


def test_a_merge_key_written_after_the_fields_does_not_duplicate_them() -> None:
    """An explicit key beside a merged one of the same name is an override, not a duplicate."""
    doc = parse("base: &b {scope: team, match: x}\nitem:\n  scope: key\n  <<: *b\n", "f.yaml")
    assert doc.data["item"] == {"scope": "key", "match": "x"}


def test_nested_merges() -> None:
    """A merged mapping's own merges come along."""
    doc = parse("a: &a {k: 1}\nb: &b\n  <<: *a\n  j: 2\nc:\n  <<: *b\n", "f.yaml")
    assert doc.data["c"] == {"j": 2, "k": 1}


def test_anchors_and_aliases_copy_values() -> None:
    """An alias repeats its anchor's value, located where the anchor is written."""
    doc = parse("steps: &ladder [50%, 90%]\nagain: *ladder\n", "f.yaml")
    assert doc.data["again"] == ["50%", "90%"]
    assert doc.at(("again", 1)) == (1, 22)


def test_a_quoted_merge_key_is_an_ordinary_key() -> None:
    """Only a plain << is a merge key."""
    assert parse('"<<": 1\n', "f.yaml").data == {"<<": 1}


def test_number_keys_become_names() -> None:
    """A numeric key such as a year is read as its text."""
    assert parse("2026: budget\n", "f.yaml").data == {"2026": "budget"}
