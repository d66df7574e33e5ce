"""Numeric and nesting limits shared by every writer and reader of JSON in agentos.

A value within these limits survives pydantic's JSON, orjson and the JSONL log unchanged:
floats are finite, integers fit in signed 64 bits (orjson's range), and documents nest at
most MAX_DEPTH levels. Bounds on prices, token counts and durations keep the numbers
derived from them (a call's cost, a retry delay) finite as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isfinite
from typing import Annotated, Any

from pydantic import AfterValidator, Field

MIN_INT = -(2**63)
MAX_INT = 2**63 - 1
# nesting levels of a JSON document a user gives (graph files, run inputs)
MAX_DEPTH = 100
# nesting levels of a value in an event, which may embed such a document a few levels
# down; orjson writes at most 254 levels and the event adds 3
MAX_EVENT_DEPTH = 200
# token counts, context windows and budgets: exact as floats, so costs stay finite
MAX_TOKENS = 2**53
# price per 1k tokens: MAX_TOKENS * MAX_PRICE / 1000 is far below the float maximum
MAX_PRICE = 1e6
# seconds (timeouts, retry intervals) and milliseconds (latencies): a year
MAX_SECONDS = 365 * 24 * 3600.0
MAX_MS = MAX_SECONDS * 1000

Int64 = Annotated[int, Field(ge=MIN_INT, le=MAX_INT)]


def json_problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why `value` is not plain JSON within the limits (naming where), or None if it is."""
    if _plain(value, max_depth):
        return None  # the common case, without building a path for every value
    return _named_problem(value, max_depth)


def _plain(value: Any, max_depth: int) -> bool:
    """Whether `value` is plain JSON within the limits (False may also mean: look closer)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not MIN_INT <= item <= MAX_INT:
                return False
        elif kind is float:
            if not isfinite(item):
                return False
        elif kind is dict:
            if depth >= max_depth:
                return False
            for key, sub in item.items():
                if type(key) is not str:
                    return False
                push((sub, depth + 1))
        elif kind is list:
            if depth >= max_depth:
                return False
            for sub in item:
                push((sub, depth + 1))
        else:
            return False
    return True


def _named_problem(value: Any, max_depth: int) -> str | None:
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > max_depth:
            return f"{where or 'value'}: nested deeper than {max_depth} levels"
        if item is None or isinstance(item, str | bool):
            continue
        if isinstance(item, int):
            if not MIN_INT <= item <= MAX_INT:
                return f"{where or 'value'}: integer outside the signed 64-bit range"
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return f"{where or 'value'}: {item} is not a finite number"
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                if not isinstance(key, str):
                    return f"{where or 'value'}: key {key!r} is not a string"
                stack.append((sub, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}[{i}]", depth + 1) for i, sub in enumerate(item))
        else:
            return f"{where or 'value'}: {type(item).__name__} is not a JSON value"
    return None


def _within(max_depth: int) -> AfterValidator:
    def check(value: Any) -> Any:
        problem = json_problem(value, max_depth)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


# a JSON object a user gives (run inputs, node params), within the limits
InputDict = Annotated[dict[str, Any], _within(MAX_DEPTH)]
# a JSON object within the limits of an event value
JsonDict = Annotated[dict[str, Any], _within(MAX_EVENT_DEPTH)]
# a JSON list within the limits of an event value
JsonList = Annotated[list[Any], _within(MAX_EVENT_DEPTH)]
