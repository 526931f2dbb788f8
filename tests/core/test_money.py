"""Money is Decimal end to end: read exactly, added exactly, shown without rounding surprises."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from watchdog.money import MoneyError, fmt_money, fmt_percent, from_api, parse_money, ratio


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        pytest.param(5000, "5000", id="a whole number"),
        pytest.param(5000.5, "5000.5", id="a float"),
        pytest.param(0.1, "0.1", id="0.1 without binary float noise"),
        pytest.param(0.05384000000000001, "0.05384000000000001", id="LiteLLM's float as printed"),
        pytest.param(Decimal("12.30"), "12.30", id="a Decimal stays as it is"),
        pytest.param("5000", "5000", id="text"),
        pytest.param("$5,000.00", "5000.00", id="dollar sign, separators and cents"),
        pytest.param("$1,234,567.89", "1234567.89", id="millions"),
        pytest.param("1_000", "1000", id="underscores as separators"),
        pytest.param(" 5000 USD ", "5000", id="with the currency and spaces"),
        pytest.param("5000 usd", "5000", id="the currency in lower case"),
        pytest.param("$ 12.50", "12.50", id="a space after the dollar sign"),
        pytest.param(".5", "0.5", id="a leading point"),
        pytest.param("$0.0005", "0.0005", id="a twentieth of a cent"),
    ],
)
def test_parse_money_is_exact(written: object, amount: str) -> None:
    """Every way finance and LiteLLM write an amount is read as the exact Decimal."""
    parsed = parse_money(written)
    assert isinstance(parsed, Decimal)
    assert str(parsed) == amount


@pytest.mark.parametrize(
    ("written", "message"),
    [
        pytest.param("5000 EUR", "amount in USD such as 5000", id="euros"),
        pytest.param("EUR 5", "amount in USD", id="a currency first"),
        pytest.param("$", "amount in USD", id="a dollar sign alone"),
        pytest.param("1,2.3.4", "amount in USD", id="two decimal points"),
        pytest.param("nan", "amount in USD", id="nan as text"),
        pytest.param(float("nan"), "finite", id="a float nan"),
        pytest.param(float("inf"), "finite", id="infinity"),
        pytest.param(True, "amount in USD, got True", id="a boolean"),
        pytest.param(None, "got NoneType", id="nothing"),
        pytest.param([5], "got list", id="a list"),
    ],
)
def test_parse_money_refuses_what_is_not_dollars(written: object, message: str) -> None:
    """Anything that is not an amount of US dollars is refused with an example of one."""
    with pytest.raises(MoneyError, match=message):
        parse_money(written)


def test_ten_cents_and_twenty_cents_make_thirty() -> None:
    """$0.10 + $0.20 = $0.30 exactly, from text, from floats and from LiteLLM JSON."""
    assert fmt_money(parse_money("$0.10") + parse_money("$0.20")) == "$0.30"
    assert parse_money(0.1) + parse_money(0.2) == Decimal("0.3")
    payload = json.loads('{"spend": 0.1, "delta": 0.2}')
    total = parse_money(payload["spend"]) + parse_money(payload["delta"])
    assert total == Decimal("0.3")
    assert fmt_money(total) == "$0.30"


def test_litellm_spend_floats_are_exact() -> None:
    """A spend like 0.05384000000000001 in LiteLLM's JSON is kept digit for digit."""
    payload = json.loads('{"spend": 0.05384000000000001, "max_budget": null}')
    assert from_api(payload["spend"]) == Decimal("0.05384000000000001")
    assert from_api(payload["max_budget"]) is None
    assert from_api("not money") is None
    assert from_api(12) == Decimal(12)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        pytest.param("0.3", "$0.30", id="cents always show two digits"),
        pytest.param("4100", "$4,100.00", id="thousands separators"),
        pytest.param("1234567.891", "$1,234,567.89", id="large amounts round to cents"),
        pytest.param("12.345", "$12.35", id="ten dollars and up round half up"),
        pytest.param("0.015", "$0.015", id="$0.015 is not shown as $0.02"),
        pytest.param("0.0149", "$0.0149", id="below ten dollars sub-cent digits stay"),
        pytest.param("0.05384000000000001", "$0.0538", id="LiteLLM noise shows four places"),
        pytest.param("0.0005", "$0.0005", id="a twentieth of a cent"),
        pytest.param("0.00001234", "$0.00001234", id="tiny amounts keep their digits"),
        pytest.param("0", "$0.00", id="zero"),
        pytest.param("-12.5", "-$12.50", id="negative"),
        pytest.param("-0.0005", "-$0.0005", id="a negative fraction of a cent"),
    ],
)
def test_fmt_money(amount: str, shown: str) -> None:
    """Amounts read like finance writes them, and small amounts never round to a lie."""
    assert fmt_money(Decimal(amount)) == shown


def test_fmt_money_precise_keeps_every_digit() -> None:
    """precise=True shows all digits, for audit trails."""
    assert fmt_money(Decimal("10.005"), precise=True) == "$10.005"
    assert fmt_money(Decimal("1234567.891"), precise=True) == "$1,234,567.891"
    assert fmt_money(Decimal("4100"), precise=True) == "$4,100.00"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("0.82", "82%", id="a whole percentage"),
        pytest.param("0.825", "83%", id="half rounds up"),
        pytest.param("0.045", "4.5%", id="one decimal under 10%"),
        pytest.param("0.0449", "4.5%", id="rounded to one decimal"),
        pytest.param("0.005", "0.5%", id="half a percent"),
        pytest.param("0.0999", "10%", id="9.99% reads 10%, not 10.0%"),
        pytest.param("0.1", "10%", id="ten percent"),
        pytest.param("0.994", "99%", id="99.4% reads 99%"),
        pytest.param("0.995", "99.5%", id="99.5% is not yet 100%"),
        pytest.param("0.9999", "99.9%", id="a hair under budget never reads 100%"),
        pytest.param("1", "100%", id="the whole budget"),
        pytest.param("1.234", "123%", id="over budget"),
        pytest.param("0", "0%", id="nothing spent"),
        pytest.param("-0.05", "-5%", id="negative"),
        pytest.param(None, "–", id="no budget to compare with"),
    ],
)
def test_fmt_percent(value: str | None, shown: str) -> None:
    """Ratios read as percentages people trust."""
    assert fmt_percent(None if value is None else Decimal(value)) == shown


@pytest.mark.parametrize(
    ("spend", "budget", "expected"),
    [
        pytest.param("1", "4", Decimal("0.25"), id="a quarter"),
        pytest.param("1", None, None, id="no budget"),
        pytest.param("1", "0", None, id="a zero budget is no budget"),
        pytest.param("1", "-5", None, id="a negative budget is no budget"),
    ],
)
def test_ratio(spend: str, budget: str | None, expected: Decimal | None) -> None:
    """Spend over budget only where there is a positive budget."""
    assert ratio(Decimal(spend), None if budget is None else Decimal(budget)) == expected
