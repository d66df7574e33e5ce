"""Helpers shared by the demo agents: the workspace, the model call, Python sources."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from agentos.actors.node_context import NodeContext
from agentos.tools.workspace import Workspace


class DemoAgentError(RuntimeError):
    """A demo agent cannot do its job; the node fails with this message."""


def workspace(ctx: NodeContext) -> Workspace:
    """The run's workspace; the demo graph always has one."""
    if ctx.workspace is None:
        raise DemoAgentError(f"node {ctx.node!r} needs a workspace: set `workspace:` in the graph")
    return ctx.workspace


async def ask_model(ctx: NodeContext, task: str) -> dict[str, Any] | None:
    """Call the node's routed model once (recorded as model_called); None without a model.

    The simulated provider answers deterministically: the agents decide with their tools,
    the call shows what a real model would have been asked and what it would cost.
    """
    if ctx.model is None:
        return None
    context = ctx.context.text if ctx.context is not None else ""
    reply = await ctx.complete(f"{context}\n\n## task\n{task}", max_tokens=128)
    return {
        "provider": reply.provider,
        "model": reply.model,
        "tokens_in": reply.tokens_in,
        "tokens_out": reply.tokens_out,
    }


def upstream_output(ctx: NodeContext, node: str) -> dict[str, Any]:
    """The output of node `node` if it succeeded, else an empty dict."""
    output = ctx.outputs.get(node)
    return output if isinstance(output, dict) else {}


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
