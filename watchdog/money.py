"""Money as Decimal: parse what finance and LiteLLM write, format what people read. Pure."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
ZERO = Decimal(0)

_MONEY = re.compile(r"^\s*\$?\s*(?P<num>[0-9][0-9,_]*(?:\.[0-9]+)?|\.[0-9]+)\s*(?:USD)?\s*$", re.I)


class MoneyError(ValueError):
    """A text is not an amount of US dollars."""


def parse_money(value: object) -> Decimal:
    """Read 5000, 5000.5, "5000", "$5,000.00" or "5000 USD" as an exact Decimal.

    Floats are read through their shortest repr, so 0.1 becomes Decimal("0.1"), not
    0.1000000000000000055511151231257827.
    """
    if isinstance(value, bool):
        raise MoneyError(f"expected an amount in USD, got {value!r}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        match = _MONEY.match(value)
        if not match:
            raise MoneyError(f'expected an amount in USD such as 5000 or "$5,000", got {value!r}')
        amount = Decimal(match["num"].replace(",", "").replace("_", ""))
    else:
        raise MoneyError(f"expected an amount in USD, got {type(value).__name__}")
    if not amount.is_finite():
        raise MoneyError(f"expected a finite amount, got {value!r}")
    return amount


def from_api(value: object) -> Decimal | None:
    """Convert a LiteLLM money field (float, int, str or None) to Decimal without float noise."""
    if value is None:
        return None
    try:
        return parse_money(value)
    except MoneyError:
        return None


def fmt_money(amount: Decimal, *, precise: bool = False) -> str:
    """Format as "$4,100.00"; amounts under a cent keep significant digits ("$0.0005")."""
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount != 0 and (amount < CENT or precise):
        text = _plain(amount.normalize())
        whole, _, frac = text.partition(".")
        frac = frac.ljust(2, "0")
        return f"{sign}${int(whole):,}.{frac}"
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if rounded != amount and amount < 10:  # $0.015 must not read as $0.02
        precise_amount = amount.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()
        whole, _, frac = _plain(precise_amount).partition(".")
        return f"{sign}${int(whole):,}.{frac.ljust(2, '0')}"
    return f"{sign}${rounded:,.2f}"


def fmt_percent(ratio: Decimal | None) -> str:
    """Format a ratio as a whole percentage ("82%"), one decimal under 10 % ("4.5%").

    Spend still under the budget never reads as 100% ("99.9%").
    """
    if ratio is None:
        return "–"
    pct = ratio * 100
    whole = pct.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if whole == 100 and pct < 100:
        return f"{pct.quantize(TENTH, rounding=ROUND_DOWN)}%"
    if abs(pct) < 10 and pct != pct.to_integral_value():
        tenth = pct.quantize(TENTH, rounding=ROUND_HALF_UP)
        if abs(tenth) < 10:  # 9.99 reads as 10%, not 10.0%
            return f"{tenth}%"
    return f"{whole}%"


def ratio(spend: Decimal, budget: Decimal | None) -> Decimal | None:
    """Spend over budget, or None when there is no positive budget to compare with."""
    if budget is None or budget <= 0:
        return None
    return spend / budget


def _plain(value: Decimal) -> str:
    """Decimal as fixed-point text without exponent."""
    try:
        return f"{value:f}"
    except InvalidOperation:  # pragma: no cover - finite decimals always format
        return str(value)
