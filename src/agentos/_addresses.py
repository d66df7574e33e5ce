"""How a step of a run is addressed: `researcher` (a node), `researcher[2]` (the third
instance of a map), `writer#2` (the second pass of a loop), `researcher[2]#2` (both)."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"(?P<node>[^\[\]#]+)(?:\[(?P<index>\d+)\])?(?:#(?P<iteration>\d+))?")


def instance(node: str, index: int) -> str:
    """The name of a map instance: `researcher[2]` is the item at index 2."""
    return f"{node}[{index}]"


def node_of(name: str) -> str:
    """The graph node a step belongs to: `researcher` for `researcher[2]#3`."""
    cut = len(name)
    for mark in ("[", "#"):
        at = name.find(mark)
        if at > 0:
            cut = min(cut, at)
    return name[:cut]


def index_of(name: str) -> int | None:
    """The map index in `researcher[2]` (2), None for a plain node."""
    match = _ADDRESS.fullmatch(name)
    if match is None or match["index"] is None:
        return None
    return int(match["index"])


def split_step(step: str) -> tuple[str, int | None]:
    """A step as (the name its events carry, the loop pass or None): `writer#2` is
    ("writer", 2), `researcher[1]` is ("researcher[1]", None)."""
    name, mark, count = step.rpartition("#")
    if mark and count.isdigit():
        return name, int(count)
    return step, None


def split_map(ref: str, nodes: set[str] | frozenset[str]) -> tuple[str, str] | None:
    """`planner.questions` as (node, field), the node being the longest known prefix
    (node names may hold dots); None when no prefix names a node."""
    at = len(ref)
    while (at := ref.rfind(".", 0, at)) > 0:
        if ref[:at] in nodes and ref[at + 1 :]:
            return ref[:at], ref[at + 1 :]
    return None
