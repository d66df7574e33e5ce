"""Loading graph specs from YAML or JSON files, text, or mappings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from agentos.graphs.problems import GraphProblem, GraphValidationError
from agentos.graphs.spec import POLICY_TAGS, GraphSpec

_FORMATS: dict[str, Literal["yaml", "json"]] = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
# limits on a graph document: nesting depth, and values once YAML aliases are expanded
MAX_DEPTH = 100
MAX_VALUES = 200_000


def load_graph(source: str | Path | Mapping[str, Any]) -> GraphSpec:
    """A graph from a .yaml/.yml/.json path or a mapping; raises GraphValidationError."""
    if isinstance(source, Mapping):
        return _build(source)
    path = Path(source)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise GraphValidationError(
            [GraphProblem(str(path), "unsupported file type: expected .yaml, .yml or .json")]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraphValidationError([GraphProblem(str(path), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphValidationError([GraphProblem(str(path), f"cannot read: {exc}")]) from exc
    return parse_graph(text, fmt, origin=str(path))


def parse_graph(text: str, fmt: Literal["yaml", "json"], origin: str = "<text>") -> GraphSpec:
    """A graph from YAML or JSON text; `origin` names the text in problems."""
    data: Any
    try:
        data = yaml.safe_load(text) if fmt == "yaml" else json.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark is not None else origin
        reason = getattr(exc, "problem", None) or str(exc)
        raise GraphValidationError([GraphProblem(where, f"invalid YAML: {reason}")]) from exc
    except json.JSONDecodeError as exc:
        where = f"{origin}:{exc.lineno}:{exc.colno}"
        raise GraphValidationError([GraphProblem(where, f"invalid JSON: {exc.msg}")]) from exc
    except RecursionError:
        problem = GraphProblem(origin, f"invalid {fmt.upper()}: nested too deeply")
        raise GraphValidationError([problem]) from None
    if not isinstance(data, Mapping):
        found = type(data).__name__
        raise GraphValidationError([GraphProblem(origin, f"expected a mapping, found {found}")])
    return _build(data)


def _build(data: Mapping[str, Any]) -> GraphSpec:
    _check_size(data)
    try:
        return GraphSpec.model_validate(dict(data))
    except ValidationError as exc:
        problems = [GraphProblem(_location(e["loc"]), e["msg"]) for e in exc.errors()]
        raise GraphValidationError(problems) from None


def _check_size(data: Any) -> None:
    """Refuse documents nested too deeply, or that YAML aliases blow up (or make cyclic)."""
    count = 0
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            problem = f"nested deeper than {MAX_DEPTH} levels (or a YAML alias refers to itself)"
            raise GraphValidationError([GraphProblem("graph", problem)])
        if count > MAX_VALUES:
            problem = f"more than {MAX_VALUES} values once YAML aliases are expanded"
            raise GraphValidationError([GraphProblem("graph", problem)])
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list | tuple):
            stack.extend((v, depth + 1) for v in value)


def _location(loc: tuple[int | str, ...]) -> str:
    """`nodes[2].policy.retry.max_attempts` from a pydantic error location."""
    parts: list[str] = []
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif not (previous == "policy" and part in POLICY_TAGS):
            parts.append(f".{part}" if parts else part)
        previous = part
    return "".join(parts) or "graph"
