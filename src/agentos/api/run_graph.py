"""The run's graph as SVG: nodes by level, map instances stacked under their node, loop
passes, waits, child runs, nodes that will never run, and what a replay inherited."""

from __future__ import annotations

from typing import Any

from agentos.api.node_detail import instances, never_ran
from agentos.api.render import esc
from agentos.state.run_state import FINISHED_NODE, NodeState, RunState

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 150, 46, 44, 18, 10
INST_H, INST_GAP, MAX_INSTANCES = 20, 4, 12
LOOP_DROP = 34


def levels(spec: dict[str, Any]) -> dict[str, int]:
    """Each node's topological level: 0 for roots, else one more than its deepest parent."""
    after = {n["name"]: list(n.get("after") or []) for n in spec.get("nodes", [])}
    level: dict[str, int] = {}

    def of(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in level:
            parents = [p for p in after.get(name, []) if p in after and p not in seen]
            level[name] = 1 + max((of(p, seen | {name}) for p in parents), default=-1)
        return level[name]

    for name in after:
        of(name)
    return level


def node_names(state: RunState) -> list[str]:
    """The nodes in level order, then declaration order."""
    lv = levels(state.spec)
    names = list(lv) or list(state.nodes)
    return sorted(names, key=lambda n: (lv.get(n, 0), names.index(n)))


def shown_status(state: RunState, node: NodeState) -> str:
    """A node's status as the dashboard shows it: `never` for one an ended run left
    pending (it will never run)."""
    return "never" if never_ran(state, node) else node.status


def status_text(state: RunState, name: str) -> str:
    """The second line of a node's box: status, wait, pass, replay origin."""
    node = state.nodes.get(name, NodeState())
    status = shown_status(state, node)
    text = "never ran" if status == "never" else status
    waited = state.waiting.get(name)
    if waited is not None:
        text = f"waits: {waited.signal}"
    if node.iteration > 1:
        text += f" · pass {node.iteration}"
    origin = origin_of(state, node)
    return f"{text} · {origin}" if origin else text


def origin_of(state: RunState, node: NodeState) -> str:
    """In a replay: `inherited` for a node finished in the copied events, `re-ran` for
    one that started after the fork; else empty."""
    origin = state.replayed_from
    if origin is None or node.first_seq is None:
        return ""
    copied = state.created_at
    ended_before = node.ended_at is not None and copied is not None and node.ended_at <= copied
    if node.first_seq <= origin.from_seq and node.status in FINISHED_NODE and ended_before:
        return "inherited"
    return "re-ran"


def address(name: str, node: NodeState) -> str:
    """What a click on the node opens: its current pass (`writer#2` after a loop)."""
    return name if node.iteration == 1 else f"{name}#{node.iteration}"


def graph_svg(state: RunState) -> str:
    """The graph laid out left to right by level, each node coloured by its status."""
    lv = levels(state.spec)
    columns: dict[int, list[str]] = {}
    for name in node_names(state):
        columns.setdefault(lv.get(name, 0), []).append(name)
    stacked = {name: instances(state, name) for name in node_names(state)}
    heights = {name: _height(len(stacked[name])) for name in stacked}
    loops = [n for n in state.spec.get("nodes", []) if n.get("loop")]
    col_h = {c: sum(heights[n] for n in ns) + (len(ns) - 1) * GAP_Y for c, ns in columns.items()}
    tallest = max(col_h.values(), default=BOX_H)
    height = PAD * 2 + tallest + (LOOP_DROP if loops else 0)
    pos: dict[str, tuple[int, int]] = {}
    for col, names in columns.items():
        top = PAD + (tallest - col_h[col]) // 2
        for name in names:
            pos[name] = (PAD + col * (BOX_W + GAP_X), top)
            top += heights[name] + GAP_Y
    width = PAD * 2 + len(columns) * BOX_W + max(len(columns) - 1, 0) * GAP_X
    edges = []
    for node in state.spec.get("nodes", []):
        for parent in node.get("after") or []:
            if parent in pos and node["name"] in pos:
                (x1, y1), (x2, y2) = pos[parent], pos[node["name"]]
                ax, ay, bx, by = x1 + BOX_W, y1 + BOX_H // 2, x2, y2 + BOX_H // 2
                mid = (ax + bx) // 2
                edges.append(
                    f'<path class="edge" d="M{ax},{ay} C{mid},{ay} {mid},{by} {bx},{by}"/>'
                )
    for node in loops:
        edges.append(_loop_edge(node, pos, heights, height))
    boxes = [_box(state, name, x, y, stacked[name]) for name, (x, y) in pos.items()]
    return (
        f'<svg class="graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="graph">{"".join(edges)}{"".join(boxes)}</svg>'
    )


def _height(count: int) -> int:
    shown = min(count, MAX_INSTANCES) + (1 if count > MAX_INSTANCES else 0)
    return BOX_H + shown * (INST_H + INST_GAP)


def _loop_edge(
    node: dict[str, Any], pos: dict[str, tuple[int, int]], heights: dict[str, int], bottom: int
) -> str:
    """The back edge of a loop, under the boxes, from its decider to its target."""
    loop, name = node["loop"], node["name"]
    target = loop.get("to")
    if name not in pos or target not in pos:
        return ""
    (x1, y1), (x2, y2) = pos[name], pos[target]
    ax, ay = x1 + BOX_W // 2, y1 + heights[name]
    bx, by = x2 + BOX_W // 2, y2 + heights[target]
    low = bottom - PAD // 2
    label = f"loop ≤ {loop.get('max_iterations')} passes"
    return (
        f'<path class="edge loop" data-loop="{esc(name)}" '
        f'd="M{ax},{ay} C{ax},{low} {bx},{low} {bx},{by}"/>'
        f'<text class="loop-label" x="{(ax + bx) // 2}" y="{low - 2}">{esc(label)}</text>'
    )


def _box(state: RunState, name: str, x: int, y: int, stacked: list[str]) -> str:
    node = state.nodes.get(name, NodeState())
    status = shown_status(state, node)
    origin = origin_of(state, node)
    label = name if node.iteration == 1 else f"{name} #{node.iteration}"
    if stacked:
        label += f" x{len(stacked)}"
    child = getattr(node, "child_run", None)
    link = ""
    if isinstance(child, str) and child:
        href = f"/dashboard/runs/{child}"
        link = (
            f'<a class="child-link" href="{esc(href)}"><text x="{x + BOX_W - 6}" y="{y + 12}" '
            f'class="gchild">child ↗</text></a>'
        )
    parts = [
        f'<g class="gnode s-{esc(status)}" data-node="{esc(name)}" '
        f'data-open="{esc(address(name, node))}" data-origin="{esc(origin)}">'
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
        f'<text x="{x + BOX_W // 2}" y="{y + 19}" class="gname">{esc(label)}</text>'
        f'<text x="{x + BOX_W // 2}" y="{y + 36}" class="gstatus">'
        f"{esc(status_text(state, name))}</text></g>{link}"
    ]
    top = y + BOX_H + INST_GAP
    for entry in stacked[:MAX_INSTANCES]:
        inst = state.nodes.get(entry, NodeState())
        shown = shown_status(state, inst)
        text = f"{entry[len(name) :]} {'never ran' if shown == 'never' else shown}"
        parts.append(
            f'<g class="ginst s-{esc(shown)}" data-node="{esc(entry)}" '
            f'data-open="{esc(address(entry, inst))}">'
            f'<rect x="{x + 10}" y="{top}" width="{BOX_W - 10}" height="{INST_H}" rx="5"/>'
            f'<text x="{x + 10 + (BOX_W - 10) // 2}" y="{top + 14}" class="ginst-text">'
            f"{esc(text)}</text></g>"
        )
        top += INST_H + INST_GAP
    if len(stacked) > MAX_INSTANCES:
        more = f"+{len(stacked) - MAX_INSTANCES} more (click {name})"
        parts.append(
            f'<text x="{x + BOX_W // 2}" y="{top + 14}" class="ginst-text">{esc(more)}</text>'
        )
    return "".join(parts)
