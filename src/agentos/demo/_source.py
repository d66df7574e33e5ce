"""Finding a function in Python sources and editing the literal it returns."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from agentos.tools.workspace import Workspace


def python_sources(ws: Workspace, exclude_dirs: list[str]) -> list[str]:
    """The workspace's .py files outside the excluded top-level directories."""
    skip = tuple(f"{d.strip('/')}/" for d in exclude_dirs)
    return [p for p in ws.list("**/*.py") if not p.startswith(skip)]


def find_function(tree: ast.AST, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The first function (or method) called `name` in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    return None


def own_returns(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    """The return statements of `func` itself, not of functions nested in it."""
    found: list[ast.Return] = []
    pending: list[ast.AST] = list(func.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Return):
            found.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return sorted(found, key=lambda r: r.lineno)


def literal(text: str | None) -> tuple[bool, Any]:
    """(True, value) when `text` is a Python literal, else (False, None)."""
    if text is None:
        return False, None
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


@dataclass(frozen=True)
class ReturnLiteral:
    """A literal returned by a function: its value, source text and position."""

    value: Any
    text: str
    line: int
    col: int
    end_line: int
    end_col: int


def return_literals(source: str, function: str) -> list[ReturnLiteral]:
    """The literal values `function` in `source` returns, in line order."""
    func = find_function(ast.parse(source), function)
    if func is None:
        return []
    out: list[ReturnLiteral] = []
    for ret in own_returns(func):
        node = ret.value
        if node is None or node.end_lineno is None or node.end_col_offset is None:
            continue
        text = ast.get_source_segment(source, node)
        ok, value = literal(text)
        if ok and text is not None:
            end_line, end_col = node.end_lineno, node.end_col_offset
            out.append(ReturnLiteral(value, text, node.lineno, node.col_offset, end_line, end_col))
    return out


def replace_span(source: str, span: ReturnLiteral, new: str) -> str:
    """`source` with the text of `span` replaced by `new` (columns are utf-8 offsets)."""
    lines = source.splitlines(keepends=True)
    first = lines[span.line - 1].encode()
    last = lines[span.end_line - 1].encode()
    head = first[: span.col].decode()
    tail = last[span.end_col :].decode()
    return "".join([*lines[: span.line - 1], head, new, tail, *lines[span.end_line :]])
