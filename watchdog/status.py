"""The status page at `/`: budgets with bars, forecasts, sources, recent alerts. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any

from watchdog.model import SourceStatus
from watchdog.preview import Row

SHOWN = 500
"""Budgets the page lists at most, the most used first."""


@dataclass(frozen=True, slots=True)
class StatusView:
    """Everything the page shows, gathered by the daemon after each cycle."""

    now: datetime
    role: str
    """"leader", "standby" or "starting"."""
    budgets: Sequence[Row] = ()
    """The budgets to show (the page shows at most `limit`, most used first)."""
    total: int | None = None
    """How many budgets were evaluated, when `budgets` holds only the most used."""
    sources: Sequence[SourceStatus] = ()
    recent: Sequence[Mapping[str, Any]] = ()
    rules_files: Sequence[str] = ()
    rules_error: str = ""
    dead_letters: int = 0
    version: str = ""
    limit: int = field(default=SHOWN)


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;
background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 24px;display:flex;gap:24px;align-items:baseline}
header h1{font-size:18px;margin:0}header span{opacity:.8}
main{padding:16px 24px;max-width:1400px}
section{background:#fff;border:1px solid #e2e5ea;border-radius:8px;margin:0 0 16px;
padding:12px 16px}
h2{font-size:15px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;
border-bottom:1px solid #eef0f3;vertical-align:top}th{font-weight:600;color:#555;font-size:12px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{background:#eef0f3;border-radius:4px;height:10px;width:140px;position:relative}
.bar i{display:block;height:10px;border-radius:4px}
.ok i{background:#2e9e5b}.warn i{background:#e0a400}.crit i{background:#d43c3c}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px}
.up{background:#e3f5ea;color:#1e7a44}.down{background:#fbe4e4;color:#a52a2a}
.stale{color:#a52a2a}.muted{color:#777}.error{background:#fbe4e4;border-color:#f0b8b8}
"""


def page(view: StatusView) -> str:
    """The whole HTML page."""
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta http-equiv=refresh content=30>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>watchdog — {_total(view)} budgets</title><style>{_CSS}</style></head>",
        "<body><header><h1>watchdog</h1>",
        f"<span>{escape(view.role)}</span>",
        f"<span>{view.now:%Y-%m-%d %H:%M:%S %Z}</span>",
        f"<span>{escape(view.version)}</span></header><main>",
        _rules(view),
        _sources(view.sources, view.now),
        _budgets(view.budgets, view.limit, _total(view)),
        _recent(view.recent, view.dead_letters),
        "</main></body></html>",
    ]
    return "".join(parts)


def _rules(view: StatusView) -> str:
    if view.rules_error:
        return (
            "<section class=error><h2>Rule files have errors: the last good rules stay in "
            f"force</h2><pre>{escape(view.rules_error)}</pre></section>"
        )
    files = ", ".join(escape(f) for f in view.rules_files) or "none"
    return f"<section><h2>Rules</h2><span class=muted>{files}</span></section>"


def _sources(sources: Sequence[SourceStatus], now: datetime) -> str:
    rows = []
    for s in sources:
        state = "<span class='pill up'>up</span>" if s.ok else "<span class='pill down'>down</span>"
        age = _age(now, s.data_as_of)
        error = f"<span class=stale>{escape(s.error)}</span>" if s.error else ""
        rows.append(
            f"<tr><td>{escape(s.name)}</td><td>{state}</td><td>{age}</td>"
            f"<td class=num>{s.requests}</td><td>{error}</td></tr>"
        )
    body = "".join(rows) or "<tr><td colspan=5 class=muted>no reading yet</td></tr>"
    return (
        "<section><h2>Sources</h2><table><tr><th>Source</th><th>State</th>"
        "<th>Data as of</th><th>Requests</th><th>Last error</th></tr>"
        f"{body}</table></section>"
    )


def _total(view: StatusView) -> int:
    return view.total if view.total is not None else len(view.budgets)


def _budgets(budgets: Sequence[Row], limit: int, total: int) -> str:
    ordered = sorted(budgets, key=lambda r: -(r.ratio or 0))[:limit]
    rows = [
        f"<tr><td>{escape(r.rule)}</td><td>{escape(r.entity)}</td>"
        f"<td class=num>{escape(r.spend)}</td><td class=num>{escape(r.budget)}</td>"
        f"<td>{_bar(r)}</td><td class=num>{escape(r.used)}</td>"
        f"<td>{escape(r.period_end)}</td><td>{escape(r.forecast)}</td>"
        f"<td{' class=stale' if r.stale else ''}>{escape(r.outcome)}</td></tr>"
        for r in ordered
    ]
    more = total - len(ordered)
    tail = f"<p class=muted>…and {more} more below these.</p>" if more > 0 else ""
    body = "".join(rows) or "<tr><td colspan=9 class=muted>no budgets evaluated yet</td></tr>"
    return (
        "<section><h2>Budgets</h2><table><tr><th>Rule</th><th>Entity</th><th>Spend</th>"
        "<th>Budget</th><th></th><th>Used</th><th>Resets</th><th>Forecast</th>"
        f"<th>Status</th></tr>{body}</table>{tail}</section>"
    )


def _bar(row: Row) -> str:
    if row.ratio is None:
        return ""
    width = max(0.0, min(row.ratio, 1.0)) * 100
    tone = "crit" if row.ratio >= 1 else "warn" if row.ratio >= 0.8 else "ok"
    return (
        f"<div class='bar {tone}' title='{escape(row.used)}'><i style='width:{width:.0f}%'>"
        "</i></div>"
    )


def _recent(recent: Sequence[Mapping[str, Any]], dead: int) -> str:
    rows = [
        f"<tr><td>{escape(str(n.get('created_at', '')))}</td>"
        f"<td>{escape(str(n.get('channel', '')))}</td><td>{escape(str(n.get('title', '')))}</td>"
        f"<td>{escape(str(n.get('state', '')))}</td></tr>"
        for n in recent
    ]
    body = "".join(rows) or "<tr><td colspan=4 class=muted>no alerts yet</td></tr>"
    dead_note = (
        (f"<p class=stale>{dead} notice(s) gave up; see <code>budget-watchdog replay</code>.</p>")
        if dead
        else ""
    )
    return (
        "<section><h2>Recent alerts</h2><table><tr><th>When</th><th>Channel</th>"
        f"<th>Alert</th><th>State</th></tr>{body}</table>{dead_note}</section>"
    )


def _age(now: datetime, at: datetime | None) -> str:
    if at is None:
        return "<span class=stale>never</span>"
    seconds = int((now - at).total_seconds())
    text = f"{seconds}s ago" if seconds < 120 else f"{seconds // 60} min ago"
    return f"{at:%H:%M:%S} ({text})"
