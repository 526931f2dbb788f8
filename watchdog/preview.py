"""The preview table: every budget, where it stands and what would happen now. Pure."""

from __future__ import annotations

import heapq
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from watchdog.decisions import Action, Alert, Decision, Reason
from watchdog.evaluate import Standing
from watchdog.money import fmt_money, fmt_percent

_ACTIONS = {Action.RESET: "RESET", Action.BLOCK: "BLOCK", Action.UNBLOCK: "UNBLOCK"}


@dataclass(frozen=True, slots=True)
class Row:
    """One budget (rule × entity) in the preview."""

    rule: str
    entity: str
    spend: str
    budget: str
    used: str
    period_end: str
    forecast: str
    outcome: str
    sends: int
    actions: int
    ratio: float | None = None
    """Spend over budget (for bars); None without a budget."""
    stale: bool = False


def rows(decisions: Iterable[Decision]) -> list[Row]:
    """Group decisions per budget, keeping evaluation order."""
    return [_row(group) for group in _groups(decisions)]


def top_rows(
    decisions: Iterable[Decision], limit: int, standings: Iterable[Standing] = ()
) -> tuple[list[Row], int]:
    """The `limit` most used budgets, most used first, and how many budgets there are.

    `standings` are the budgets with nothing to do (`evaluate`'s), each a budget of its own.
    The decisions of one budget are adjacent, as `evaluate` returns them.
    """
    board = Board(limit)
    for standing in standings:
        board.append(standing)
    board.add_decisions(decisions)
    return board.rows()


class Board:
    """The `limit` most used budgets, taken one at a time; only their rows are built.

    With 100k budgets, building every row would cost seconds on each status page view, and
    holding every budget until the end of a cycle tens of megabytes. Idle budgets come as
    `evaluate` finds them (`append`: a `Standing` each, whose UNDER decision is built only
    when shown), then the decisions. When two budgets are used alike, one with decisions
    comes first, then the one evaluated first.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        """Budgets seen so far."""
        self._best: list[tuple[float, bool, int, list[Decision] | Standing]] = []

    def append(self, standing: Standing) -> None:
        self._offer(_ratio(standing.ratio), standing)

    def add_decisions(self, decisions: Iterable[Decision]) -> None:
        for group in _runs(decisions):
            self._offer(_usage(group), group)

    def rows(self) -> tuple[list[Row], int]:
        """The rows of the budgets shown, most used first, and how many budgets there are."""
        chosen = [
            b if isinstance(b, list) else [b.decision()]
            for *_, b in sorted(self._best, reverse=True)  # counts differ: budgets never compared
        ]
        return [_row(group) for group in chosen], self.count

    def _offer(self, usage: float, budget: list[Decision] | Standing) -> None:
        self.count += 1
        entry = (usage, isinstance(budget, list), -self.count, budget)
        if len(self._best) < self.limit:
            heapq.heappush(self._best, entry)
        elif self.limit and entry > self._best[0]:
            heapq.heapreplace(self._best, entry)


def _runs(decisions: Iterable[Decision]) -> Iterator[list[Decision]]:
    """Decisions in runs of one budget each."""
    run: list[Decision] = []
    key: tuple[str, str, str] | None = None
    for decision in decisions:
        a = decision.alert
        here = (a.rule, a.scope.value, a.entity_id)
        if here != key and run:
            yield run
            run = []
        key = here
        run.append(decision)
    if run:
        yield run


def _groups(decisions: Iterable[Decision]) -> list[list[Decision]]:
    groups: dict[tuple[str, str, str], list[Decision]] = {}
    for decision in decisions:
        a = decision.alert
        groups.setdefault((a.rule, a.scope.value, a.entity_id), []).append(decision)
    return list(groups.values())


def _usage(group: Sequence[Decision]) -> float:
    return _ratio(_best_alert(group).ratio)


def _ratio(ratio: Decimal | None) -> float:
    return float(ratio) if ratio is not None else 0.0


def _row(group: Sequence[Decision]) -> Row:
    alert = _best_alert(group)
    tz = alert.period.tz
    sends = [d for d in group if d.action is Action.NOTIFY or d.reason is Reason.NO_CHANNEL]
    actions = [d for d in group if d.action in _ACTIONS]
    return Row(
        rule=alert.rule,
        entity=alert.label,
        spend=_spend(alert),
        budget=fmt_money(alert.budget) if alert.budget is not None else "–",
        used=fmt_percent(alert.ratio),
        period_end=f"{alert.period.end.astimezone(tz):%Y-%m-%d %H:%M %Z}"
        if alert.period.end
        else "never",
        forecast=_forecast(alert),
        outcome=_outcome(group),
        sends=len(sends),
        actions=len(actions),
        ratio=float(alert.ratio) if alert.ratio is not None else None,
        stale=any(d.reason is Reason.STALE for d in group),
    )


PARTIAL_MARK = "†"


def _spend(alert: Alert) -> str:
    if alert.measurement is None:
        return "–"
    text = fmt_money(alert.spend)
    return text if alert.measurement.complete else f"{text}{PARTIAL_MARK}"


def _best_alert(group: Sequence[Decision]) -> Alert:
    for decision in group:
        if decision.alert.measurement is not None:
            return decision.alert
    return group[0].alert


def _forecast(alert: Alert) -> str:
    p = alert.projection
    if p is None:
        return ""
    if not p.ok:
        return "insufficient data"
    assert p.projected is not None
    text = fmt_money(p.projected)
    if p.exhausts_at is not None:
        text += f" (out {p.exhausts_at.astimezone(alert.period.tz):%m-%d %H:%M})"
    return text


def _outcome(group: Sequence[Decision]) -> str:
    parts: list[str] = []
    sends: dict[tuple[Reason, str], list[str]] = {}
    for d in group:
        if d.action is Action.NOTIFY:
            sends.setdefault((d.reason, d.alert.detail), []).append(d.channel or "")
    for (reason, detail), channels in sends.items():
        parts.append(f"SEND {reason.value}: {detail} → {', '.join(channels)}")
    parts.extend(
        f"ALERT {d.note.split(',')[0]}: {d.alert.detail} (no channel configured)"
        for d in group
        if d.reason is Reason.NO_CHANNEL
    )
    parts.extend(f"{_ACTIONS[d.action]}: {d.note}" for d in group if d.action in _ACTIONS)
    if not parts:
        parts.append(_quiet(group))
    return "; ".join(dict.fromkeys(parts))


def _quiet(group: Sequence[Decision]) -> str:
    for d in group:
        if d.reason is Reason.UNDER:
            return f"ok — {d.alert.detail}" if d.alert.detail else "ok"
    first = group[0]
    note = f": {first.note}" if first.note else ""
    detail = (
        f" ({first.alert.detail})" if first.alert.detail and first.reason is Reason.DEDUPED else ""
    )
    return f"{first.reason.value}{detail}{note}"


_HEADERS = ("RULE", "ENTITY", "SPEND", "BUDGET", "USED", "RESETS", "FORECAST", "WOULD")


def table(items: Sequence[Row], *, width: int = 160) -> str:
    """Aligned text table; the last column wraps to the terminal width."""
    cells = [
        [r.rule, r.entity, r.spend, r.budget, r.used, r.period_end, r.forecast, r.outcome]
        for r in items
    ]
    fixed = [
        _clip(max([len(h)] + [len(c[i]) for c in cells]), i) for i, h in enumerate(_HEADERS[:-1])
    ]
    right = {2, 3, 4}
    lines = [_line(_HEADERS, fixed, right, width)]
    lines.append(_line(["-" * w for w in fixed] + ["-" * 5], fixed, set(), width))
    lines.extend(_line(c, fixed, right, width) for c in cells)
    return "\n".join(lines)


def _clip(size: int, column: int) -> int:
    return min(size, 36 if column in (0, 1) else 24)


def _line(cells: Sequence[str], widths: Sequence[int], right: set[int], width: int) -> str:
    out = []
    for i, w in enumerate(widths):
        text = cells[i] if len(cells[i]) <= w else cells[i][: w - 1] + "…"
        out.append(text.rjust(w) if i in right else text.ljust(w))
    prefix = "  ".join(out) + "  "
    room = max(30, width - len(prefix))
    chunks = textwrap.wrap(cells[-1], room, break_on_hyphens=False) or [""]
    pad = " " * len(prefix)
    return prefix + chunks[0] + "".join("\n" + pad + c for c in chunks[1:])


def summary(items: Sequence[Row], *, now: datetime, nothing_sent: bool = True) -> str:
    budgets = len(items)
    sends = sum(r.sends for r in items)
    actions = sum(r.actions for r in items)
    firing = sum(1 for r in items if r.sends)
    text = (
        f"{budgets} budget{'s' if budgets != 1 else ''} checked at "
        f"{now:%Y-%m-%d %H:%M %Z}: {firing} would alert ({sends} notice"
        f"{'s' if sends != 1 else ''}), {actions} change{'s' if actions != 1 else ''} "
        "in LiteLLM due."
    )
    if any(r.spend.endswith(PARTIAL_MARK) for r in items):
        text += (
            f"\n{PARTIAL_MARK} counted since watchdog first saw it: LiteLLM's counter "
            "spans more than this period and no earlier reading is stored yet."
        )
    if nothing_sent:
        text += "\nNothing was sent or changed."
    return text


def as_json(items: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            "rule": r.rule,
            "entity": r.entity,
            "spend": r.spend,
            "budget": r.budget,
            "used": r.used,
            "period_end": r.period_end,
            "forecast": r.forecast,
            "outcome": r.outcome,
            "notices": r.sends,
            "changes": r.actions,
        }
        for r in items
    ]
