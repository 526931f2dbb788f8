"""Reading rule files: every budget of `rules/*.yaml` into a RuleSet, errors as file:line:col.

Pure apart from reading the files named by the caller. One mistake gives one message, at the
line where it is written (a bad `defaults:` value is reported there, not in every budget), and
every message names the field, what it got and what it accepts.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from watchdog import yamlfile
from watchdog.errors import Problem, RuleError
from watchdog.model import Scope
from watchdog.rule_fields import shown
from watchdog.rules import Defaults, Forecast, Origin, Rule, RuleFile, RuleSet

_BROKEN: Any = object()
"""Marks a `defaults:` field whose value was refused."""


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories to their *.yaml / *.yml files, sorted; keep files as given."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(
                sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            )
        else:
            out.append(path)
    return out


def load_rules(paths: Iterable[str | Path]) -> RuleSet:
    """Read and validate every rule file; raise RuleError listing every problem in every file."""
    files = rule_files(paths)
    problems: list[Problem] = []
    rules: list[Rule] = []
    origins: dict[str, Origin] = {}
    if not files:
        raise RuleError([Problem(str(p), 1, 1, "no rule files (*.yaml) found") for p in paths])
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(_unreadable(str(path), exc))
            continue
        file_rules, file_problems = parse_rules(text, str(path))
        problems.extend(file_problems)
        for rule, origin in file_rules:
            if rule.name in origins:
                first = origins[rule.name]
                problems.append(
                    Problem(
                        origin.path,
                        origin.line,
                        origin.col,
                        f"name: duplicate budget name {rule.name!r} (first defined at {first})",
                    )
                )
                continue
            origins[rule.name] = origin
            rules.append(rule)
    if problems:
        raise RuleError(problems)
    return RuleSet(rules=tuple(rules), origins=origins, files=tuple(map(str, files)))


def _unreadable(path: str, exc: OSError | UnicodeDecodeError) -> Problem:
    if isinstance(exc, OSError):
        return Problem(path, 1, 1, f"cannot read file: {exc.strerror or type(exc).__name__}")
    data = bytes(exc.object)
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    line = data.count(b"\n", 0, exc.start) + 1
    col = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
    return Problem(
        path,
        line,
        col,
        f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
    )


def parse_rules(text: str, path: str) -> tuple[list[tuple[Rule, Origin]], list[Problem]]:
    """Validate one file's text; return the good rules and the problems (never raises)."""
    try:
        doc = yamlfile.parse(text, path)
    except yamlfile.YamlError as exc:
        return [], exc.problems
    data = doc.data
    if data is None:
        return [], [Problem(path, 1, 1, "empty file: expected a mapping with a `budgets:` list")]
    if isinstance(data, list):
        return [], [
            doc.problem(
                (),
                "expected a mapping with a `budgets:` list at the top; "
                "indent this list under `budgets:`",
            )
        ]
    if not isinstance(data, dict):
        return [], [
            doc.problem((), f"expected a mapping with a `budgets:` list, got {shown(data)}")
        ]
    problems = [
        doc.problem((key,), _unknown_field(key, ("budgets", "defaults")), key=True)
        for key in data
        if key not in ("budgets", "defaults")
    ]
    defaults, default_problems = _defaults(doc)
    problems.extend(default_problems)
    budgets = data.get("budgets")
    if "budgets" not in data:
        problems.append(doc.problem((), "missing `budgets:` (the list of budgets in this file)"))
        return [], problems
    if not isinstance(budgets, list):
        problems.append(
            doc.problem(
                ("budgets",), "budgets: expected a list of budgets, each starting with `- name:`"
            )
        )
        return [], problems
    rules = []
    for index, item in enumerate(budgets):
        rule, rule_problems = _rule(doc, index, item, defaults)
        problems.extend(rule_problems)
        if rule is not None:
            rules.append((rule, Origin(path, *doc.at(("budgets", index, "name")))))
    return rules, problems


def _defaults(doc: yamlfile.Document) -> tuple[dict[str, Any], list[Problem]]:
    raw = doc.data.get("defaults")
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [
            doc.problem(
                ("defaults",),
                "defaults: expected a mapping of fields, e.g. `timezone: Europe/Stockholm`",
            )
        ]
    try:
        Defaults.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        problems = [_problem(doc, ("defaults",), err, raw, where="defaults: ") for err in errors]
        # Budgets start from the valid defaults; a bad one stays, marked, so that a budget
        # taking it is not reported again (one mistake, one message).
        bad = {str(err["loc"][0]) for err in errors if err["loc"]}
        return {k: _BROKEN if k in bad else v for k, v in raw.items()}, problems
    return raw, []


def _rule(
    doc: yamlfile.Document, index: int, item: Any, defaults: Mapping[str, Any]
) -> tuple[Rule | None, list[Problem]]:
    base = ("budgets", index)
    if not isinstance(item, dict):
        return None, [
            doc.problem(
                base,
                f"budgets[{index}]: expected a mapping starting with `name:`, got {shown(item)}",
            )
        ]
    broken = {k for k, v in defaults.items() if v is _BROKEN and k not in item}
    merged = {**{k: v for k, v in defaults.items() if k not in item and k not in broken}, **item}
    try:
        return Rule.model_validate(merged), []
    except ValidationError as exc:
        name = item.get("name")
        where = f"budget {name!r}: " if isinstance(name, str) else ""
        problems = []
        for err in exc.errors():
            # A value this budget took from `defaults:` is reported where it is written.
            field_name = str(err["loc"][0]) if err["loc"] else _field_named(err)
            if field_name in broken:  # already reported in defaults
                continue
            inherited = field_name in defaults and field_name not in item
            at = ("defaults",) if inherited else base
            problems.append(_problem(doc, at, err, merged, where=where))
        return None, problems


def _field_named(err: ErrorDetails) -> str:
    """The field a cross-field check is about: its message starts with `field:`."""
    return str(err["msg"]).removeprefix("Value error, ").split(":", 1)[0]


# Messages ------------------------------------------------------------------------------------


_TYPE_WORDS = {
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping of fields",
    "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields",
    "datetime_type": "a date and time such as 2026-01-05T00:00:00+01:00",
    "datetime_parsing": "a date and time such as 2026-01-05T00:00:00+01:00",
    "datetime_from_date_parsing": "a date and time such as 2026-01-05T00:00:00+01:00",
}


def _problem(
    doc: yamlfile.Document,
    base: yamlfile.Path,
    err: ErrorDetails,
    data: Any,
    *,
    where: str = "",
) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    name = ".".join(_loc_text(loc)) or "budget"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1], base)
        return doc.problem(
            (*base, *loc), where + _unknown_field(str(loc[-1]), tuple(model.model_fields)), key=True
        )
    if kind == "missing":
        hint = _MISSING_HINTS.get(name, "")
        return doc.problem((*base, *loc[:-1]), f"{where}{name}: missing required field{hint}")
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        got = _value_at(data, loc)
        hint = _did_you_mean(
            str(got),
            [s.strip("' ") for s in str(expected).split(",") if s.strip()]
            + _or_split(str(expected)),
        )
        return doc.problem(
            (*base, *loc),
            f"{where}{name}: unknown value {shown(got)}; use one of {expected}{hint}",
        )
    if kind in _TYPE_WORDS:
        got = _value_at(data, loc)
        return doc.problem(
            (*base, *loc), f"{where}{name}: expected {_TYPE_WORDS[kind]}, got {shown(got)}"
        )
    message = str(err["msg"]).removeprefix("Value error, ")
    if not loc:  # cross-field check: the message starts with the field it is about
        field_name = _field_named(err)
        target = (*base, field_name) if field_name.isidentifier() else base
        return doc.problem(target, f"{where}{message}")
    return doc.problem((*base, *loc), f"{where}{name}: {message}")


_MISSING_HINTS = {
    "name": " (a unique name shown in alerts, e.g. `name: Engineering monthly`)",
    "scope": f"; use one of {', '.join(s.value for s in Scope)}",
}


def _loc_text(loc: tuple[Any, ...]) -> list[str]:
    out: list[str] = []
    for part in loc:
        if isinstance(part, int) and out:
            out[-1] = f"{out[-1]}[{part}]"
        else:
            out.append(str(part))
    return out


def _model_at(loc: tuple[Any, ...], base: yamlfile.Path) -> type[BaseModel]:
    names = [p for p in loc if isinstance(p, str)]
    if base == ("defaults",) and not names:
        return Defaults
    if names and names[-1] == "forecast":
        return Forecast
    return Rule


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _unknown_field(name: str, known: Sequence[str]) -> str:
    return (
        f"unknown field {name!r}{_did_you_mean(name, list(known))}; accepted fields: "
        f"{', '.join(known)}"
    )


def _or_split(text: str) -> list[str]:
    return [p.strip(" '") for p in text.replace(" or ", ",").split(",") if p.strip(" '")]


def _did_you_mean(got: str, options: list[str]) -> str:
    close = difflib.get_close_matches(got, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# JSON Schema for editors ---------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a rules file, for editor autocompletion (rules/schema.json)."""
    schema = RuleFile.model_json_schema()
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "watchdog budget rules"
    rule = schema["$defs"]["Rule"]
    # a budget may take its scope from the file's `defaults:`; `check` reports it if neither has
    rule["required"] = [name for name in rule.get("required", []) if name != "scope"]
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
