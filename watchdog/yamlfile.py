"""Read YAML the way finance writes it, keeping the line and column of every value.

YAML 1.2 scalars (only true/false are booleans, so a team called `no` stays "no"), decimals as
Decimal (never float), numbers with leading zeros (0755) kept as text, merge keys (`<<: *base`),
duplicate keys and tabs reported as errors with their position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from watchdog.errors import Problem

Path = tuple[str | int, ...]
_MERGE = "tag:yaml.org,2002:merge"
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9]+$")


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars."""


_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Loader.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])


@dataclass
class Document:
    """Plain data read from one YAML file plus where each value and key stands in it."""

    path: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def at(self, loc: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of the value (or key) at `loc`, else of the nearest enclosing value."""
        table = self.keys if key else self.values
        for end in range(len(loc), -1, -1):
            pos = table.get(loc[:end]) or self.values.get(loc[:end])
            if pos:
                return pos
        return (1, 1)

    def problem(self, loc: Path, message: str, *, key: bool = False) -> Problem:
        line, col = self.at(loc, key=key)
        return Problem(self.path, line, col, message)


class YamlError(Exception):
    """The file is not valid YAML (or has duplicate keys); carries the located problems."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def parse(text: str, path: str) -> Document:
    """Parse one YAML document, raising YamlError with file:line:col on any error."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise YamlError([_syntax_problem(exc, path, text)]) from None
    except yaml.YAMLError as exc:
        raise YamlError([Problem(path, 1, 1, f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    doc = Document(path=path, data=None)
    if node is None:
        return doc
    problems: list[Problem] = []
    doc.data = _build(node, (), doc, problems, frozenset())
    if problems:
        raise YamlError(problems)
    return doc


def _syntax_problem(exc: yaml.MarkedYAMLError, path: str, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = (exc.problem or str(exc)).strip()
    lines = text.splitlines()
    if "\t" in problem or (0 < line <= len(lines) and "\t" in lines[line - 1][: col + 1]):
        return Problem(path, line, col, "tab character: YAML indentation must use spaces, not tabs")
    context = f" ({exc.context.strip()})" if exc.context else ""
    hint = _HINTS.get(problem, "")
    return Problem(path, line, col, f"not valid YAML: {problem}{context}{hint}")


_HINTS = {
    "mapping values are not allowed here": "; put text that contains ': ' in quotes",
    "found character '%' that cannot start any token": '; put a percentage in quotes ("80%")',
    "found character '@' that cannot start any token": "; put text that starts with @ in quotes",
}


def _build(
    node: yaml.Node, loc: Path, doc: Document, problems: list[Problem], inside: frozenset[int]
) -> Any:
    """Plain data of `node`; `inside` holds the collections being built around it."""
    if id(node) in inside:
        problems.append(
            Problem(doc.path, *_pos(node), "an alias (*name) refers to a value that contains it")
        )
        return None
    doc.values[loc] = _pos(node)
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(node, loc, doc, problems, inside | {id(node)})
    if isinstance(node, yaml.SequenceNode):
        within = inside | {id(node)}
        return [_build(item, (*loc, i), doc, problems, within) for i, item in enumerate(node.value)]
    return _scalar(node)


def _build_mapping(
    node: yaml.MappingNode,
    loc: Path,
    doc: Document,
    problems: list[Problem],
    inside: frozenset[int],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in _own_pairs(node):
        key = _key(key_node, doc, problems)
        if key is None:
            continue
        if key in out:
            first = doc.keys[(*loc, key)]
            problems.append(
                Problem(
                    doc.path,
                    *_pos(key_node),
                    f"duplicate key {key!r} (first defined at line {first[0]})",
                )
            )
            continue
        doc.keys[(*loc, key)] = _pos(key_node)
        out[key] = _build(value_node, (*loc, key), doc, problems, inside)
    # Merge keys (<<: *anchor): the mapping's own keys win, then earlier merged mappings.
    for key_node, value_node in _merged_pairs(node, doc, problems):
        key = _key(key_node, doc, problems)
        if key is not None and key not in out:
            doc.keys[(*loc, key)] = _pos(key_node)
            out[key] = _build(value_node, (*loc, key), doc, problems, inside)
    return out


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _key(node: yaml.Node, doc: Document, problems: list[Problem]) -> str | None:
    key = _scalar(node)
    if isinstance(key, str | int) and not isinstance(key, bool):
        return str(key)
    shown = repr(node.value) if isinstance(node, yaml.ScalarNode) else "a list or mapping"
    problems.append(Problem(doc.path, *_pos(node), f"keys must be plain names, got {shown}"))
    return None


def _own_pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    return [(k, v) for k, v in node.value if k.tag != _MERGE]


def _merged_pairs(
    node: yaml.MappingNode,
    doc: Document,
    problems: list[Problem],
    seen: frozenset[int] = frozenset(),
) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    seen = seen | {id(node)}
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE:
            continue
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode) or id(source) in seen:
                problems.append(
                    Problem(
                        doc.path,
                        *_pos(key_node),
                        "<<: expected an anchored mapping such as *defaults (or a list of them)",
                    )
                )
                continue
            yield from _own_pairs(source)
            yield from _merged_pairs(source, doc, problems, seen)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return None
    try:
        return _typed(node.tag, node.value)
    except (ValueError, ArithmeticError):  # an explicit tag on text, e.g. `!!float abc`
        return str(node.value)


def _typed(tag: str, value: str) -> Any:
    if tag == "tag:yaml.org,2002:bool" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        if _LEADING_ZERO.match(value):  # 0755 is an id such as a cost centre, not 755
            return str(value)
        return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
    if tag == "tag:yaml.org,2002:float":
        return Decimal(value)
    if tag == "tag:yaml.org,2002:null":
        return None
    return str(value)
