"""Read YAML the way finance writes it, keeping the line and column of every value.

YAML 1.2 scalars (only true/false are booleans, so a team called `no` stays "no"), decimals as
Decimal (never float), duplicate keys and tabs reported as errors with their position.
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
    doc.data = _build(node, (), doc, problems)
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
    return Problem(path, line, col, f"not valid YAML: {problem}{context}")


def _build(node: yaml.Node, loc: Path, doc: Document, problems: list[Problem]) -> Any:
    doc.values[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(node, loc, doc, problems)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), doc, problems) for i, item in enumerate(node.value)]
    return _scalar(node)


def _build_mapping(
    node: yaml.MappingNode, loc: Path, doc: Document, problems: list[Problem]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in _pairs(node):
        key = _scalar(key_node)
        pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        if not isinstance(key, str | int) or isinstance(key, bool):
            problems.append(Problem(doc.path, *pos, f"keys must be plain names, got {key!r}"))
            continue
        name = str(key)
        if name in out:
            first = doc.keys[(*loc, name)]
            problems.append(
                Problem(
                    doc.path, *pos, f"duplicate key {name!r} (first defined at line {first[0]})"
                )
            )
            continue
        doc.keys[(*loc, name)] = pos
        out[name] = _build(value_node, (*loc, name), doc, problems)
    return out


def _pairs(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            if isinstance(value_node, yaml.MappingNode):
                yield from _pairs(value_node)
            continue
        yield key_node, value_node


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return None
    tag, value = node.tag, node.value
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
    if tag == "tag:yaml.org,2002:float":
        return Decimal(value)
    if tag == "tag:yaml.org,2002:null":
        return None
    return str(value)
