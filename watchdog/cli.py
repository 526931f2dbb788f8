"""Command-line entry points: run, check, preview, reset, test-channel, replay, schema."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from watchdog import __version__, config, litellm_config, ops, reload, snapshot
from watchdog.errors import DeliveryError, InputError, Problem, WatchdogError
from watchdog.evaluate import evaluate
from watchdog.model import LedgerState, Snapshot
from watchdog.notify.probe import send_test
from watchdog.preview import as_json, rows, summary, table
from watchdog.rule_files import load_rules, schema_text
from watchdog.rules import RuleSet

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """`budget-watchdog …`; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.func(args)
    except InputError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEMS
    except WatchdogError as exc:
        print(f"budget-watchdog: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="budget-watchdog",
        description="Budget alerts for LiteLLM Proxy: evaluate finance-owned rules, alert once.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="validate rule files (errors as file:line:col)")
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="rule files or directories (default: the config's rules, or rules/)",
    )
    _config_arg(check)
    check.add_argument(
        "--litellm-config",
        metavar="FILE",
        help="also read a LiteLLM proxy config and show the budgets and channels it implies",
    )
    check.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    check.set_defaults(func=cmd_check)

    preview = sub.add_parser("preview", help="show every budget and what would fire; sends nothing")
    _config_arg(preview)
    preview.add_argument(
        "--snapshot", metavar="FILE", help="evaluate a saved snapshot instead of the live sources"
    )
    preview.add_argument("--rules", nargs="+", metavar="PATH", help="rule files or directories")
    preview.add_argument(
        "--at",
        metavar="TIME",
        help="evaluate as of this ISO-8601 time (default: the snapshot's time, or now)",
    )
    preview.add_argument("--format", choices=("table", "json"), default="table")
    preview.add_argument(
        "--firing", action="store_true", help="only budgets that would alert or change something"
    )
    preview.add_argument(
        "--save-snapshot",
        metavar="FILE",
        help="also write what was read to FILE (for `preview --snapshot FILE` later)",
    )
    preview.set_defaults(func=cmd_preview)

    test = sub.add_parser("test-channel", help="send a clearly marked test message to a channel")
    test.add_argument("name", metavar="NAME", help="a channel name from the config's channels:")
    _config_arg(test)
    test.set_defaults(func=cmd_test_channel)

    ops.register(sub, _config_arg)

    schema = sub.add_parser("schema", help="print the JSON Schema of rule files")
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE (rules/schema.json)")
    schema.set_defaults(func=cmd_schema)
    return parser


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="ops config (default: $WATCHDOG_CONFIG, else ./watchdog.yaml)",
    )


# check ---------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    problems: list[Problem] = []
    path = config.config_path(args.config)
    settings = _check_settings(path, args, problems)
    litellm_path = args.litellm_config or (settings.litellm_config if settings else None)
    derived = litellm_config.load(litellm_path) if litellm_path else None
    paths = _check_paths(args.paths, settings, litellm=derived is not None)
    ruleset: RuleSet | None = RuleSet() if not paths else None
    try:
        ruleset = load_rules(paths) if paths else ruleset
    except InputError as exc:
        problems.extend(exc.problems)
    notes: list[str] = []
    if derived is not None:
        problems.extend(derived.errors)
        ruleset, settings, notes = _with_litellm(ruleset, derived, settings, problems)
        if settings is not None:
            problems.extend(config.routing_problems(settings, path))
    if ruleset is not None and settings is not None:
        known = set(settings.channels)
        problems.extend(config.rule_channel_problems(ruleset, known, path or "<config>"))
    for problem in sorted(problems, key=lambda p: (p.path, p.line, p.col)):
        print(problem)
    if derived is not None and not args.quiet:
        for warning in derived.warnings:
            print(warning)
        for note in notes:
            print(f"warning: {note}")
        print("\n".join(litellm_config.describe(derived)))
    sys.stdout.flush()
    if problems:
        files = len({p.path for p in problems})
        print(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {files} "
            f"file{'s' if files != 1 else ''}",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    if not args.quiet and ruleset is not None:
        n = len(ruleset.rules)
        print(
            f"{n} budget{'s' if n != 1 else ''} in {len(ruleset.files)} file"
            f"{'s' if len(ruleset.files) != 1 else ''}: OK"
            + ("" if settings or len(ruleset.files) == (derived is not None) else _UNCHECKED)
        )
    return EXIT_OK


_UNCHECKED = " (channel names not checked: no --config)"


def _check_paths(given: list[str], settings: config.Settings | None, *, litellm: bool) -> list[str]:
    """Rule paths to check: as given, else the config's (or rules/); none when a LiteLLM config
    is checked and no rules were configured nor exist (as the daemon does)."""
    if given:
        return given
    if litellm and not config.has_native_rules(settings):
        return []
    return list(settings.rules) if settings else ["rules"]


def _check_settings(
    path: str | None, args: argparse.Namespace, problems: list[Problem]
) -> config.Settings | None:
    """The ops config to check against, if any (its problems go to `problems`)."""
    if not (path or args.config):
        return None
    # a LiteLLM config given here is the one the config's routing may name channels of
    given = args.litellm_config
    env = {**os.environ, "WATCHDOG_LITELLM_CONFIG": given} if given else None
    try:
        return config.load(path, env)
    except InputError as exc:
        problems.extend(exc.problems)
        return None


def _with_litellm(
    ruleset: RuleSet | None,
    derived: litellm_config.Derived,
    settings: config.Settings | None,
    problems: list[Problem],
) -> tuple[RuleSet | None, config.Settings | None, list[str]]:
    """Native and derived rules and channels together (a rule name clash is a problem)."""
    notes: list[str] = []
    if settings is not None:
        settings, notes = litellm_config.with_channels(settings, derived)
    if ruleset is None:
        return None, settings, notes
    try:
        return litellm_config.combine(ruleset, derived), settings, notes
    except InputError as exc:
        problems.extend(exc.problems)
        return None, settings, notes


# preview -------------------------------------------------------------------------------------


def cmd_preview(args: argparse.Namespace) -> int:
    path = config.config_path(args.config)
    settings: config.Settings | None
    if path and not args.rules:  # what the daemon runs, a LiteLLM config's budgets included
        settings, ruleset = reload.compose(path)
    else:
        settings = config.load(path) if path else None
        ruleset = load_rules(args.rules or (list(settings.rules) if settings else ["rules"]))
        if settings is not None:
            ruleset = settings.apply(ruleset)
    snapshot_path = args.snapshot or (settings.snapshot_file if settings else None)
    if snapshot_path:
        loaded = snapshot.load(snapshot_path)
        now = _parse_at(args.at) if args.at else loaded.snapshot.taken_at
        # A saved snapshot is what the sources said then: its age is not staleness.
        ruleset = ruleset.with_routing(ruleset.routing, stale_after=timedelta(days=3650))
    elif settings is None or settings.litellm is None:
        print(_NO_SOURCE, file=sys.stderr)
        return EXIT_USAGE
    else:
        now = _parse_at(args.at) if args.at else datetime.now(UTC)
        live = asyncio.run(snapshot.read_live(settings, rules=ruleset, now=now))
        loaded = snapshot.SnapshotFile(live)
    if args.save_snapshot:
        snapshot.save(args.save_snapshot, loaded.snapshot, loaded.history)
    state = LedgerState(history=loaded.history)
    decisions = evaluate(ruleset, loaded.snapshot, state, now, explain=True)
    found = rows(decisions)
    if args.firing:
        found = [r for r in found if r.sends or r.actions]
    failing = [] if snapshot_path else _failing_sources(loaded.snapshot)
    if args.format == "json":
        print(json.dumps(as_json(found), indent=2))
        return EXIT_PROBLEMS if failing else EXIT_OK
    width = shutil.get_terminal_size((160, 24)).columns
    print(table(found, width=width) if found else "No budget matches any entity.")
    print()
    print(summary(found, now=now))
    if settings is None:
        print("No --config given: channels and routing are not shown.")
    if args.save_snapshot:
        print(f"Snapshot written to {args.save_snapshot}.")
    return EXIT_PROBLEMS if failing else EXIT_OK


_NO_SOURCE = (
    "budget-watchdog preview: no spend source. Give --snapshot FILE, or a config "
    "(--config FILE, $WATCHDOG_CONFIG or ./watchdog.yaml) with litellm.url and "
    "litellm.master_key (e.g. master_key: os.environ/LITELLM_MASTER_KEY)"
)


def _failing_sources(snap: Snapshot) -> list[str]:
    """Print each source that could not be read (to stderr); their names."""
    failing = [s for s in snap.sources.values() if not s.ok]
    for status in failing:
        print(
            f"budget-watchdog preview: source {status.name} failed: {status.error}", file=sys.stderr
        )
    return [s.name for s in failing]


def _parse_at(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            [
                Problem(
                    "--at",
                    1,
                    1,
                    f"expected an ISO-8601 time such as 2026-11-22T12:00:00Z, got {text!r}",
                )
            ]
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# test-channel --------------------------------------------------------------------------------


def cmd_test_channel(args: argparse.Namespace) -> int:
    path = config.config_path(args.config)
    settings, _ = reload.load_settings(path)  # a LiteLLM config's channels too
    if args.name not in settings.channels:
        known = sorted(settings.channels)
        hint = difflib.get_close_matches(args.name, known, n=1)
        guess = f" (did you mean {hint[0]!r}?)" if hint else ""
        where = (
            f"channels in the config: {', '.join(known)}"
            if known
            else f"no channels are defined in {path or 'the config (give --config FILE)'}"
        )
        print(
            f"budget-watchdog test-channel: unknown channel {args.name!r}{guess}; {where}",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    try:
        receipt = asyncio.run(send_test(settings, args.name, now=datetime.now(UTC)))
    except DeliveryError as exc:
        later = " (a temporary failure: try again later)" if exc.retryable else ""
        print(
            f"budget-watchdog test-channel: {args.name}: not delivered: {exc}{later}",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    ref = f" (ref {receipt.ref})" if receipt.ref else ""
    print(f"Test message delivered to channel {args.name}{ref}.")
    return EXIT_OK


# schema --------------------------------------------------------------------------------------


def cmd_schema(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
