"""Rule files: what each field accepts, how defaults merge, and the JSON Schema for editors."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pydantic
import pytest

from watchdog.errors import RuleError
from watchdog.model import Scope
from watchdog.rule_fields import Threshold, parse_threshold
from watchdog.rule_files import load_rules, parse_rules, rule_files
from watchdog.rules import Rule, RuleSet
from watchdog.windows import PeriodSpec

GOOD = Path(__file__).resolve().parent / "good_rules"


def budget(**fields: Any) -> Rule:
    """A team budget for engineering with the given fields on top."""
    return Rule.model_validate({"name": "B", "scope": "team", "match": "engineering", **fields})


def one(text: str) -> Rule:
    """The single rule of a rules file's text; fails the test on any problem."""
    rules, problems = parse_rules(text, "teams.yaml")
    assert problems == []
    assert len(rules) == 1
    return rules[0][0]


# Thresholds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "kind", "value"),
    [
        pytest.param("80%", "percent", "0.8", id="80% is a share"),
        pytest.param(" 80 % ", "percent", "0.8", id="spaces around a percentage are fine"),
        pytest.param("0.5%", "percent", "0.005", id="half a percent"),
        pytest.param("100%", "percent", "1", id="the whole budget"),
        pytest.param("150%", "percent", "1.5", id="over budget steps are allowed"),
        pytest.param("1000%", "percent", "10", id="1000% is the largest step"),
        pytest.param(0.8, "percent", "0.8", id="a float fraction"),
        pytest.param(Decimal("0.8"), "percent", "0.8", id="a YAML decimal fraction"),
        pytest.param(1, "percent", "1", id="1 is the whole budget"),
        pytest.param("0.8", "percent", "0.8", id="a quoted fraction"),
        pytest.param("$4,000", "amount", "4000", id="dollars with a thousands separator"),
        pytest.param("$4000", "amount", "4000", id="dollars"),
        pytest.param("$0.01", "amount", "0.01", id="a cent"),
        pytest.param("$ 12.50", "amount", "12.50", id="a space after the dollar sign"),
    ],
)
def test_thresholds_are_read_as_shares_or_amounts(written: object, kind: str, value: str) -> None:
    """Shares and dollar amounts are read exactly, whichever way finance writes them."""
    threshold = parse_threshold(written)
    assert threshold == Threshold(kind, Decimal(value))  # type: ignore[arg-type]


def test_litellm_is_a_threshold_only_where_allowed() -> None:
    """ "litellm" (LiteLLM's own budget) is accepted for soft and hard limits, not for steps."""
    assert parse_threshold("litellm", allow_litellm=True) == Threshold("litellm")
    assert parse_threshold(" LiteLLM ", allow_litellm=True).kind == "litellm"
    with pytest.raises(ValueError, match="only accepted for soft_limit and hard_limit"):
        parse_threshold("litellm")


@pytest.mark.parametrize(
    ("written", "message"),
    [
        pytest.param("abc%", r"expected a percentage such as 80%", id="letters before %"),
        pytest.param("-5%", r"above 0% and at most 1000%, got '-5%'", id="a negative percentage"),
        pytest.param("0%", r"above 0% and at most 1000%", id="zero percent"),
        pytest.param("2000%", r"at most 1000%, got '2000%'", id="beyond 1000%"),
        pytest.param(80, r"80 is ambiguous: write 80% .* or \"\$80\"", id="a bare 80"),
        pytest.param(Decimal("1.5"), r"1.5 is ambiguous", id="a bare 1.5 shows as written"),
        pytest.param(0, r"must be above 0", id="zero"),
        pytest.param(Decimal("-0.5"), r"must be above 0 .*got -0.5", id="a negative fraction"),
        pytest.param("$0", r"above \$0", id="zero dollars"),
        pytest.param("$abc", r"amount in USD", id="dollars without a number"),
        pytest.param("80 percent", r"expected a percentage", id="percent in words"),
        pytest.param(True, r"expected a percentage", id="true is not a threshold"),
        pytest.param(None, r"expected a percentage", id="nothing is not a threshold"),
    ],
)
def test_bad_thresholds_say_what_is_accepted(written: object, message: str) -> None:
    """Every rejected threshold names what is accepted or why the value cannot be used."""
    with pytest.raises(ValueError, match=message):
        parse_threshold(written)


@pytest.mark.parametrize(
    ("threshold", "label", "shown"),
    [
        pytest.param(Threshold("percent", Decimal("0.8")), "80%", "80%", id="a share"),
        pytest.param(Threshold("percent", Decimal("0.005")), "0.5%", "0.5%", id="a small share"),
        pytest.param(Threshold("amount", Decimal("4000")), "$4000", "$4,000.00", id="an amount"),
        pytest.param(Threshold("litellm"), "litellm", "litellm", id="LiteLLM's own"),
    ],
)
def test_threshold_labels(threshold: Threshold, label: str, shown: str) -> None:
    """A threshold's label is stable (dedup identity); its text is for people."""
    assert threshold.label == label
    assert str(threshold) == shown


# Amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        pytest.param(5000, Decimal("5000"), id="a whole number"),
        pytest.param("$5,000.00", Decimal("5000.00"), id="dollars with separators and cents"),
        pytest.param("5000 USD", Decimal("5000"), id="with the currency"),
        pytest.param(0.1, Decimal("0.1"), id="a float 0.1 without float noise"),
        pytest.param(Decimal("250.50"), Decimal("250.50"), id="a YAML decimal keeps its cents"),
        pytest.param("litellm", None, id="litellm: the entity's own max_budget"),
        pytest.param(None, None, id="null: the entity's own max_budget"),
    ],
)
def test_budget_amounts_are_exact(written: object, amount: Decimal | None) -> None:
    """Budget amounts are Decimal, exactly as written."""
    rule = budget(amount=written)
    assert rule.amount == amount
    if amount is not None:
        assert isinstance(rule.amount, Decimal)
        assert str(rule.amount) == str(amount)
    assert rule.uses_litellm_budget is (amount is None)


def test_an_amount_in_a_file_is_decimal_not_float() -> None:
    """`amount: 0.1` in YAML is Decimal("0.1"), and 0.1 + 0.2 of them is exactly 0.3."""
    rule = one("budgets:\n  - {name: B, scope: tag, match: x, amount: 0.1}\n")
    assert rule.amount == Decimal("0.1")
    assert rule.amount + Decimal("0.2") == Decimal("0.3")


@pytest.mark.parametrize(
    ("written", "message"),
    [
        pytest.param("5000 EUR", "amount in USD", id="euros"),
        pytest.param(-5000, "cannot be negative", id="negative"),
        pytest.param(0, "above \\$0", id="zero"),
        pytest.param("five thousand", "amount in USD", id="in words"),
        pytest.param(True, "amount in USD", id="true"),
    ],
)
def test_bad_amounts(written: object, message: str) -> None:
    """A budget amount that is not a positive number of dollars is refused with the reason."""
    with pytest.raises(pydantic.ValidationError, match=message):
        budget(amount=written)


# Periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "spec"),
    [
        pytest.param("monthly", PeriodSpec("calendar", "monthly", unit="monthly"), id="monthly"),
        pytest.param("daily", PeriodSpec("calendar", "daily", unit="daily"), id="daily"),
        pytest.param("30d", PeriodSpec("every", "30d", unit="d", count=30), id="30 days"),
        pytest.param("12h", PeriodSpec("every", "12h", unit="h", count=12), id="12 hours"),
        pytest.param("0 0 1 * *", PeriodSpec("cron", "0 0 1 * *"), id="cron on the 1st"),
        pytest.param("litellm", PeriodSpec("litellm", "litellm"), id="follow LiteLLM's cycle"),
    ],
)
def test_periods(written: str, spec: PeriodSpec) -> None:
    """Each way of writing a period is read into its spec."""
    assert budget(amount=5, period=written).period == spec


@pytest.mark.parametrize(
    ("fields", "period"),
    [
        pytest.param({"scope": "key"}, "litellm", id="key without amount follows LiteLLM"),
        pytest.param({"scope": "team"}, "litellm", id="team without amount follows LiteLLM"),
        pytest.param({"scope": "user"}, "litellm", id="user without amount follows LiteLLM"),
        pytest.param({"scope": "customer"}, "litellm", id="customer without amount"),
        pytest.param(
            {"scope": "team", "amount": "litellm"}, "litellm", id="amount litellm follows LiteLLM"
        ),
        pytest.param({"scope": "team", "amount": 5000}, "monthly", id="team with amount: monthly"),
        pytest.param({"scope": "tag", "amount": 5000}, "monthly", id="tag: monthly"),
        pytest.param(
            {"scope": "global", "match": None, "amount": 5000}, "monthly", id="global: monthly"
        ),
        pytest.param(
            {"scope": "key", "period": "weekly"}, "weekly", id="a written period always wins"
        ),
    ],
)
def test_the_default_period(fields: dict[str, Any], period: str) -> None:
    """Without `period`, budgets kept in LiteLLM follow its cycle; the others are monthly."""
    data = {"name": "B", "match": "*", **fields}
    rule = Rule.model_validate({k: v for k, v in data.items() if v is not None})
    assert str(rule.period) == period


# Defaults -----------------------------------------------------------------------------------

WITH_DEFAULTS = """\
defaults:
  scope: team
  timezone: Europe/Stockholm
  soft_limit: 80%
  notify: [finance-email]
budgets:
  - name: Engineering monthly
    match: engineering
    amount: 5000
    soft_limit: 90%
  - name: Research monthly
    match: research
    amount: 2000
    timezone: America/New_York
"""


def test_defaults_fill_in_and_a_budgets_own_field_wins() -> None:
    """Every budget starts from `defaults:`; what a budget writes itself overrides it."""
    rules, problems = parse_rules(WITH_DEFAULTS, "teams.yaml")
    assert problems == []
    eng, research = (r for r, _ in rules)
    assert (eng.scope, research.scope) == (Scope.TEAM, Scope.TEAM)
    assert eng.timezone == ZoneInfo("Europe/Stockholm")
    assert research.timezone == ZoneInfo("America/New_York")
    assert eng.soft_limit == Threshold("percent", Decimal("0.9"))
    assert research.soft_limit == Threshold("percent", Decimal("0.8"))
    assert eng.notify == research.notify == ("finance-email",)


@pytest.mark.parametrize(
    ("text", "line", "col", "fragment"),
    [
        pytest.param(
            "defaults:\n  alert_at: [50%, 2000%]\nbudgets:\n"
            "  - {name: B, scope: team, match: x, amount: 5}\n",
            2,
            19,
            "defaults: alert_at[1]:",
            id="a bad default value points at it",
        ),
        pytest.param(
            "defaults:\n  scope: teem\nbudgets:\n  - {name: B, match: x, amount: 5}\n",
            2,
            10,
            "defaults: scope: unknown value 'teem'",
            id="a misspelt default scope points at defaults, once",
        ),
        pytest.param(
            "defaults:\n  on_hard_limit: block\nbudgets:\n"
            "  - {name: B, scope: user, match: x, amount: 5}\n",
            2,
            18,
            "budget 'B': on_hard_limit: LiteLLM can block",
            id="a default that does not suit a budget points at the default",
        ),
        pytest.param(
            "defaults: monthly\nbudgets:\n  - {name: B, scope: team, match: x, amount: 5}\n",
            1,
            11,
            "defaults: expected a mapping of fields",
            id="defaults that are not a mapping",
        ),
    ],
)
def test_errors_in_defaults_point_at_the_defaults_section(
    text: str, line: int, col: int, fragment: str
) -> None:
    """A problem caused by `defaults:` is reported once, where the default is written."""
    _, problems = parse_rules(text, "teams.yaml")
    assert [(p.line, p.col) for p in problems] == [(line, col)]
    assert fragment in problems[0].message


# YAML 1.2 scalars: names stay names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "names"),
    [
        pytest.param("no", ("no",), id="no is a team called no, not false"),
        pytest.param("on", ("on",), id="on is text"),
        pytest.param("yes", ("yes",), id="yes is text"),
        pytest.param("off", ("off",), id="off is text"),
        pytest.param("0755", ("0755",), id="0755 keeps its leading zero"),
        pytest.param("1234", ("1234",), id="a numeric team id"),
        pytest.param("1.50", ("1.50",), id="a decimal-looking name keeps its digits"),
        pytest.param("[no, 0042]", ("no", "0042"), id="a list of such names"),
        pytest.param('"*"', ("*",), id="every entity"),
    ],
)
def test_match_names_are_read_as_written(written: str, names: tuple[str, ...]) -> None:
    """YAML 1.2 scalars: `match: no` is the team "no", and ids keep their leading zeros."""
    rule = one(f"budgets:\n  - name: B\n    scope: team\n    match: {written}\n")
    assert rule.match == names


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        pytest.param("true", "expected a name or a list of names, got True", id="true"),
        pytest.param("null", "expected a name or a list of names, got None", id="null"),
        pytest.param('""', "names cannot be empty", id="an empty name"),
    ],
)
def test_match_rejects_what_is_not_a_name(written: str, fragment: str) -> None:
    """A boolean, a null or an empty string is not an entity name."""
    _, problems = parse_rules(
        f"budgets:\n  - name: B\n    scope: team\n    match: {written}\n", "f"
    )
    assert [(p.line, p.col) for p in problems] == [(4, 12)]
    assert fragment in problems[0].message


# Frozen models ------------------------------------------------------------------------------


def test_rules_are_frozen() -> None:
    """A validated rule, its forecast, thresholds and the rule set cannot be changed."""
    rule = budget(amount=5, soft_limit="80%", forecast={"min_elapsed": "3d"})
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        rule.amount = Decimal(6)  # type: ignore[misc]
    assert rule.forecast is not None
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        rule.forecast.min_elapsed = timedelta(days=1)  # type: ignore[misc]
    assert rule.soft_limit is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.soft_limit.value = Decimal(1)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        RuleSet(rules=(rule,)).rules = ()  # type: ignore[misc]


def test_a_rule_survives_a_round_trip_through_json() -> None:
    """Dumping a rule to JSON and validating it again gives the same rule."""
    for rule in load_rules([GOOD]).rules:
        assert Rule.model_validate(rule.model_dump(mode="json")) == rule


# Loading files ------------------------------------------------------------------------------


def test_rule_files_expands_directories(tmp_path: Path) -> None:
    """A directory means its *.yaml and *.yml files, sorted, not recursing; files stay as given."""
    for name in ("b.yaml", "a.yml", "notes.md", "sub/c.yaml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    loose = tmp_path / "sub" / "c.yaml"
    assert rule_files([tmp_path, loose]) == [tmp_path / "a.yml", tmp_path / "b.yaml", loose]


def test_load_rules_records_where_each_rule_is(tmp_path: Path) -> None:
    """Each rule's origin is its name's line and column, for messages and `check`."""
    path = tmp_path / "teams.yaml"
    path.write_text(WITH_DEFAULTS, encoding="utf-8")
    ruleset = load_rules([path])
    assert [r.name for r in ruleset.rules] == ["Engineering monthly", "Research monthly"]
    origin = ruleset.origins["Research monthly"]
    assert (origin.path, origin.line, origin.col) == (str(path), 11, 11)
    assert str(origin) == f"{path}:11"
    assert ruleset.files == (str(path),)


def test_load_rules_raises_every_problem_sorted(tmp_path: Path) -> None:
    """Problems from several files come in one RuleError, sorted by file and line."""
    (tmp_path / "b.yaml").write_text("budgets:\n  - {name: X, scope: teams}\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text("budgets: 5\n", encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rules([tmp_path])
    where = [(Path(p.path).name, p.line) for p in caught.value.problems]
    assert where == [("a.yaml", 1), ("b.yaml", 2)]


def test_enabled_leaves_out_disabled_rules() -> None:
    """`enabled: false` keeps a rule loaded but out of evaluation."""
    on, off = budget(name="on", amount=5), budget(name="off", amount=5, enabled=False)
    assert RuleSet(rules=(on, off)).enabled() == (on,)
