"""The differences between two JSON values, as paths (`report.sections[2]`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

#: at most this many differences are listed per pair of values
MAX_CHANGES = 50


class ValueChange(BaseModel):
    """One place where two JSON values differ."""

    path: str = Field(description="where, from the root: `` is the whole value")
    a: Any = None
    b: Any = None
    only_in: str | None = Field(default=None, description="`a` or `b` when the other lacks it")


def json_changes(a: Any, b: Any, limit: int = MAX_CHANGES) -> list[ValueChange]:
    """Where `a` and `b` differ, depth first, at most `limit` places."""
    found: list[ValueChange] = []
    _walk(a, b, "", found, limit)
    return found


def _walk(a: Any, b: Any, path: str, found: list[ValueChange], limit: int) -> None:
    if len(found) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in b:
                found.append(ValueChange(path=where, a=a[key], only_in="a"))
            elif key not in a:
                found.append(ValueChange(path=where, b=b[key], only_in="b"))
            else:
                _walk(a[key], b[key], where, found, limit)
            if len(found) >= limit:
                return
        return
    if isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            where = f"{path}[{index}]"
            if index >= len(b):
                found.append(ValueChange(path=where, a=a[index], only_in="a"))
            elif index >= len(a):
                found.append(ValueChange(path=where, b=b[index], only_in="b"))
            else:
                _walk(a[index], b[index], where, found, limit)
            if len(found) >= limit:
                return
        return
    if not _same(a, b):
        found.append(ValueChange(path=path, a=a, b=b))


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: `1` and `True` differ, `1` and `1.0` do not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)
