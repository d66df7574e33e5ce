"""The HTML sections of a run's page: timeline, node cards (contexts and models), totals."""

from __future__ import annotations

from typing import Any

from agentos.api.node_detail import instances
from agentos.api.render import esc, seconds, status_badge, table, tag
from agentos.api.run_graph import address, node_names, origin_of, shown_status
from agentos.state.run_state import NodeState, RunState


def timeline(state: RunState) -> str:
    """One bar per node from its start to its end, on the run's time axis."""
    t0 = state.started_at or state.created_at
    ends = [n.ended_at for n in state.nodes.values() if n.ended_at]
    end = state.ended_at or max(ends, default=None) or state.updated_at
    if t0 is None or end is None:
        return tag("p", "not started yet", cls="muted")
    span = max((end - t0).total_seconds(), 1e-3)
    rows = []
    for name in [n for top in node_names(state) for n in (top, *instances(state, top))]:
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
    """Per node: its status, model choice with the reason, usage and context manifest."""
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
            f"{node_badges(state, name, node)}</summary>{waits}{child_link(node)}{choice}"
            f"{usage}{error}{manifest}</details>"
        )
    return "".join(cards)


def node_badges(state: RunState, name: str, node: NodeState) -> str:
    """A node's status (`never ran` for one an ended run left pending), its loop pass,
    its map instances, where a replay got it, and the button that opens it in full."""
    status = shown_status(state, node)
    badge = tag("span", "never ran", cls="badge s-never") if status == "never" else ""
    parts = [badge or status_badge(node.status)]
    if node.iteration > 1:
        parts.append(tag("span", f"pass {node.iteration}", cls="badge pass"))
    count = len(instances(state, name))
    if count:
        parts.append(tag("span", f"{count} instances", cls="badge map"))
    origin = origin_of(state, node)
    if origin:
        parts.append(tag("span", origin, cls=f"badge origin o-{origin}"))
    opener = tag("button", "details", cls="open", type="button", data_open=address(name, node))
    return " ".join(parts) + " " + opener


def child_link(node: NodeState) -> str:
    """A link to the child run a sub-graph node runs, if it has one."""
    child = getattr(node, "child_run", None)
    if not isinstance(child, str) or not child:
        return ""
    link = tag("a", child, href=f"/dashboard/runs/{child}", cls="child-run")
    return f'<p class="child">child run {link}</p>'


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
