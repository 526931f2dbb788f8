"""Operator commands: run the daemon, scheduled resets, dead-letter replay and snoozes."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable

from watchdog import config, service
from watchdog.errors import InputError, Problem
from watchdog.model import EntityRef, Scope, Snooze
from watchdog.money import fmt_money
from watchdog.render import when
from watchdog.windows import PeriodError, parse_duration

AddConfig = Callable[[argparse.ArgumentParser], None]


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], config_arg: AddConfig
) -> None:
    """Add run, reset, replay and snooze to the command line."""
    run = sub.add_parser("run", help="run the daemon (--once: one cycle, then exit)")
    config_arg(run)
    run.add_argument(
        "--litellm-config",
        metavar="FILE",
        help="also turn this LiteLLM proxy config's alerting settings into budgets and channels",
    )
    run.add_argument(
        "--once",
        action="store_true",
        help="one cycle and one delivery round, then exit (1 if anything failed)",
    )
    run.set_defaults(func=cmd_run)

    reset = sub.add_parser("reset", help="list the scheduled resets due now (--execute: do them)")
    config_arg(reset)
    mode = reset.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="only list them (the default)")
    mode.add_argument("--execute", action="store_true", help="reset them now, once, and announce")
    reset.set_defaults(func=cmd_reset)

    replay = sub.add_parser("replay", help="send dead-lettered notices again")
    config_arg(replay)
    replay.add_argument(
        "--id",
        type=int,
        action="append",
        dest="ids",
        metavar="N",
        help="only this dead letter (repeatable); default: all of them",
    )
    replay.add_argument("--list", action="store_true", help="list dead letters, send nothing")
    replay.set_defaults(func=cmd_replay)

    snooze = sub.add_parser("snooze", help="silence a budget (or one entity) for a while")
    config_arg(snooze)
    snooze.add_argument("--rule", help="budget name (default: every budget)")
    snooze.add_argument(
        "--entity",
        metavar="SCOPE:NAME",
        help="only this entity, e.g. team:engineering or key:ci-bot",
    )
    snooze.add_argument("--for", dest="duration", metavar="DURATION", help="e.g. 4h, 2d")
    snooze.add_argument("--reason", help="why; shown wherever the snooze holds an alert back")
    snooze.add_argument("--by", default="", help="who is snoozing (for the audit trail)")
    snooze.add_argument("--list", action="store_true", help="list active snoozes")
    snooze.set_defaults(func=cmd_snooze)


def cmd_run(args: argparse.Namespace) -> int:
    if args.litellm_config:  # read by config.load (and by reload.stamp) like any override
        os.environ["WATCHDOG_LITELLM_CONFIG"] = args.litellm_config
    return asyncio.run(service.run(config.config_path(args.config), once=args.once))


def cmd_reset(args: argparse.Namespace) -> int:
    due, done = asyncio.run(service.resets(config.config_path(args.config), execute=args.execute))
    if not due:
        print("No reset is due now.")
        return 0
    for decision in due:
        a = decision.alert
        spend = fmt_money(a.entity.spend) if a.entity is not None else "–"
        print(
            f"{a.rule}: {a.label} (LiteLLM spend {spend}) — period from "
            f"{when(a.period.start, a.period.tz)}"
        )
    if not args.execute:
        print(f"{len(due)} reset(s) due; nothing was changed (run with --execute to reset now).")
        return 0
    failed = [d for d in done if not d.record.ok]
    for d in failed:
        print(f"failed: {d.record.entity}: {d.record.error}", file=sys.stderr)
    print(f"{len(done) - len(failed)} reset(s) made, {len(failed)} failed.")
    return 1 if failed else 0


def cmd_replay(args: argparse.Namespace) -> int:
    path = config.config_path(args.config)
    if args.list:
        rows = asyncio.run(service.dead_letters(path))
        for row in rows:
            print(
                f"{row.get('id')}  {row.get('channel')}  {row.get('title')}  "
                f"({row.get('error', '')})"
            )
        print(f"{len(rows)} dead letter(s).")
        return 0
    moved, sent = asyncio.run(service.replay(path, ids=args.ids))
    print(f"{moved} notice(s) back in the outbox; {sent} delivered now.")
    return 0 if moved == sent else 1


def cmd_snooze(args: argparse.Namespace) -> int:
    path = config.config_path(args.config)
    if args.list:
        for s in asyncio.run(service.snoozes(path)):
            what = " / ".join(x for x in (s.get("rule"), s.get("entity")) if x) or "everything"
            print(f"{what} until {s.get('until')}: {s.get('reason')} ({s.get('created_by')})")
        return 0
    snooze = _snooze(args)
    asyncio.run(service.add_snooze(path, snooze))
    target = " / ".join(x for x in (snooze.rule, str(snooze.entity or "")) if x)
    print(f"Snoozed {target or 'every budget'} until {snooze.until:%Y-%m-%d %H:%M %Z}.")
    return 0


def _snooze(args: argparse.Namespace) -> Snooze:
    problems = []
    if not args.duration:
        problems.append("--for: how long, e.g. 4h or 2d")
    if not args.reason:
        problems.append("--reason: why (it is shown with every alert held back)")
    if not args.rule and not args.entity:
        problems.append("--rule or --entity: what to snooze")
    entity = None
    if args.entity:
        scope, sep, name = args.entity.partition(":")
        if not sep or scope not in {s.value for s in Scope} or not name:
            problems.append(
                f"--entity: expected SCOPE:NAME such as team:engineering, got {args.entity!r}"
            )
        else:
            entity = EntityRef(Scope(scope), name)
    try:
        length = parse_duration(args.duration) if args.duration else None
    except PeriodError as exc:
        problems.append(f"--for: {exc}")
        length = None
    if problems or length is None:
        raise InputError([Problem("snooze", 1, 1, p) for p in problems])
    return Snooze(
        until=service.utcnow() + length,
        reason=args.reason,
        rule=args.rule,
        entity=entity,
        created_by=args.by,
    )
