"""The HTML sections of a run's page: graph, timeline, contexts and models, totals."""

from __future__ import annotations

from typing import Any

from agentos.api.render import esc, seconds, status_badge, table, tag
from agentos.state.run_state import NodeState, RunState

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 150, 46, 44, 18, 10


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


def graph_svg(state: RunState) -> str:
    """The graph laid out left to right by level, each node coloured by its status."""
    lv = levels(state.spec)
    columns: dict[int, list[str]] = {}
    for name in node_names(state):
        columns.setdefault(lv.get(name, 0), []).append(name)
    tallest = max((len(c) for c in columns.values()), default=1)
    height = PAD * 2 + tallest * BOX_H + (tallest - 1) * GAP_Y
    pos: dict[str, tuple[int, int]] = {}
    for col, names in columns.items():
        top = (height - len(names) * BOX_H - (len(names) - 1) * GAP_Y) // 2
        for row, name in enumerate(names):
            pos[name] = (PAD + col * (BOX_W + GAP_X), top + row * (BOX_H + GAP_Y))
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
    boxes = []
    for name, (x, y) in pos.items():
        status = state.nodes.get(name, NodeState()).status
        boxes.append(
            f'<g class="gnode s-{esc(status)}" data-node="{esc(name)}">'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
            f'<text x="{x + BOX_W // 2}" y="{y + 19}" class="gname">{esc(name)}</text>'
            f'<text x="{x + BOX_W // 2}" y="{y + 36}" class="gstatus">{esc(status)}</text></g>'
        )
    return (
        f'<svg class="graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="graph">{"".join(edges)}{"".join(boxes)}</svg>'
    )


def timeline(state: RunState) -> str:
    """One bar per node from its start to its end, on the run's time axis."""
    t0 = state.started_at or state.created_at
    ends = [n.ended_at for n in state.nodes.values() if n.ended_at]
    end = state.ended_at or max(ends, default=None) or state.updated_at
    if t0 is None or end is None:
        return tag("p", "not started yet", cls="muted")
    span = max((end - t0).total_seconds(), 1e-3)
    rows = []
    for name in node_names(state):
        node = state.nodes.get(name, NodeState())
        bar = ""
        took = node.duration_ms / 1000 if node.ended_at else None
        if node.started_at is not None:
            stop = node.ended_at or end
            left = 100 * (node.started_at - t0).total_seconds() / span
            width = max(100 * (stop - node.started_at).total_seconds() / span, 0.6)
            label = seconds((stop - node.started_at).total_seconds())
            bar = (
                f'<div class="bar s-{esc(node.status)}" style="left:{left:.2f}%;'
                f'width:{min(width, 100 - left):.2f}%" title="{esc(label)}"></div>'
            )
        rows.append(
            f'<div class="tl-row">{tag("span", name, cls="tl-name")}'
            f'<div class="tl-track">{bar}</div>'
            f"{tag('span', seconds(took), cls='tl-dur')}"
            "</div>"
        )
    axis = f'<div class="tl-axis"><span>0</span><span>{esc(seconds(span))}</span></div>'
    return f'<div class="timeline">{"".join(rows)}{axis}</div>'


def manifest_table(manifest: dict[str, Any]) -> str:
    """The context manifest: every item with its tokens, status and what was cut."""
    rows = [
        [
            esc(item.get("name")),
            esc(item.get("source")),
            f"{esc(item.get('tokens'))}/{esc(item.get('original_tokens'))}",
            tag("span", item.get("status"), cls=f"ctx ctx-{item.get('status')}"),
            esc(item.get("cut") or ""),
            esc(item.get("reason") or ""),
        ]
        for item in manifest.get("items", [])
    ]
    budget = manifest.get("budget") or {}
    used = ", ".join(f"{k} {v}" for k, v in budget.items())
    head = tag("p", f"profile {manifest.get('profile')} · budget: {used}", cls="muted")
    cols = ["item", "source", "tokens", "status", "cut", "reason"]
    return head + table(cols, rows, cls="manifest")


def node_cards(state: RunState) -> str:
    """Per node: its model choice with the reason, its usage and its context manifest."""
    cards = []
    for name in node_names(state):
        node = state.nodes.get(name, NodeState())
        model = node.model or {}
        choice = (
            tag("p", f"{model.get('provider')}/{model.get('model')}", cls="model")
            + tag("p", model.get("reason", ""), cls="reason")
            if model
            else tag("p", "no model chosen yet", cls="muted")
        )
        u = node.usage
        usage = tag(
            "p",
            f"{u.calls} calls · {u.tokens_in} in · {u.tokens_out} out · ${u.cost:.6f}",
            cls="muted",
        )
        manifest = (
            manifest_table(node.manifest)
            if node.manifest
            else tag("p", "no context yet", cls="muted")
        )
        error = tag("p", node.error, cls="error") if node.error else ""
        waits = wait_buttons(state, name)
        cards.append(
            f'<details class="card" data-node="{esc(name)}" open><summary>{tag("b", name)} '
            f"{status_badge(node.status)}</summary>{waits}{choice}{usage}{error}{manifest}"
            "</details>"
        )
    return "".join(cards)


def wait_buttons(state: RunState, name: str) -> str:
    """What a waiting node waits for, with Approve / Reject buttons that send it."""
    waited = state.waiting.get(name)
    if waited is None:
        return ""
    signal = esc(waited.signal)
    buttons = "".join(
        f'<button type="button" class="signal" data-signal="{signal}" '
        f'data-approved="{value}">{label}</button>'
        for label, value in (("Approve", "true"), ("Reject", "false"))
    )
    return (
        f'<div class="wait" data-node="{esc(name)}">waits for signal <b>{signal}</b> '
        f'{buttons}<span class="signal-result muted"></span></div>'
    )


def totals(state: RunState) -> str:
    """The run's token and cost totals and duration."""
    u = state.usage
    cells = [
        ("status", status_badge(state.status)),
        ("events", esc(state.last_seq)),
        ("duration", esc(seconds(state.duration_s()))),
        ("model calls", esc(u.calls)),
        ("tokens in", esc(u.tokens_in)),
        ("tokens out", esc(u.tokens_out)),
        ("cost", esc(f"${u.cost:.6f}")),
    ]
    items = "".join(f'<div class="stat"><span>{esc(k)}</span><b>{v}</b></div>' for k, v in cells)
    error = tag("p", state.error, cls="error") if state.error else ""
    return f'<div class="stats">{items}</div>{error}'
