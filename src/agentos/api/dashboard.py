"""The dashboard: server-rendered pages, kept live by a little JavaScript (static/app.js)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from agentos.api import run_view
from agentos.api.auth import remember
from agentos.api.render import esc, page, render, seconds, status_badge, tag
from agentos.api.routes_resources import runtime
from agentos.api.routes_runs import state_or_404
from agentos.api.runtime import CorruptRun
from agentos.state.run_state import RunState

router = APIRouter(tags=["dashboard"], default_response_class=HTMLResponse)


def run_row(run: RunState | CorruptRun) -> str:
    """One row of the runs table (app.js renders the same cells when it refreshes)."""
    state = run.prefix if isinstance(run, CorruptRun) else run
    link = f"/dashboard/runs/{run.run_id}"
    origin = state.replayed_from
    error = tag("small", f" {run.error}", cls="muted") if isinstance(run, CorruptRun) else ""
    return (
        f'<tr data-run="{esc(run.run_id)}"><td><a href="{esc(link)}">{esc(run.run_id)}</a>'
        + (tag("small", f" replay of {origin.source_run}", cls="muted") if origin else "")
        + f"</td><td>{esc(state.graph)}</td><td>{status_badge(run.status)}{error}</td>"
        f"<td>{esc(state.last_seq)}</td><td>{esc(started(state))}</td>"
        f"<td>{esc(seconds(state.duration_s()))}</td>"
        f'<td><a href="/runs/{esc(run.run_id)}/events">events</a></td></tr>'
    )


def started(state: RunState) -> str:
    """When the run was created, in UTC, to the second."""
    return f"{state.created_at:%Y-%m-%d %H:%M:%S}" if state.created_at else "-"


@router.get("/dashboard", response_class=HTMLResponse)
async def runs_page(request: Request) -> HTMLResponse:
    """Every run, refreshed each second, and a form that starts a demo run."""
    rt = runtime(request)
    rows = "".join(run_row(s) for s in await rt.listing())
    graphs = "".join(tag("option", name, value=name) for name in sorted(rt.catalog.graphs))
    body = render("runs.html", rows=rows, graphs=graphs)
    response = HTMLResponse(page("AgentOS runs", body, "runs"))
    remember(request, response)
    return response


@router.get("/dashboard/runs/{run_id}", response_class=HTMLResponse)
async def run_page(run_id: str, request: Request) -> HTMLResponse:
    """A run: graph, timeline, events (live), contexts, models, totals, replay."""
    state = await state_or_404(runtime(request), run_id)
    options = "".join(tag("option", n, value=n) for n in run_view.node_names(state))
    origin = state.replayed_from
    replayed = (
        "replay of "
        + tag("a", origin.source_run, href=f"/dashboard/runs/{origin.source_run}")
        + esc(f" from {origin.from_step} (seq {origin.from_seq})")
        if origin
        else ""
    )
    body = render(
        "run.html",
        run_id=esc(state.run_id),
        graph=esc(state.graph),
        replayed=replayed,
        inputs=esc(orjson.dumps(state.inputs, option=orjson.OPT_INDENT_2).decode()),
        panel=panel_html(state),
        steps=options,
    )
    response = HTMLResponse(page(f"AgentOS {state.run_id}", body, "run"))
    remember(request, response)
    return response


@router.get("/dashboard/runs/{run_id}/panel", response_class=HTMLResponse)
async def run_panel(run_id: str, request: Request) -> HTMLResponse:
    """The live part of a run's page, which app.js swaps in as events arrive."""
    return HTMLResponse(panel_html(await state_or_404(runtime(request), run_id)))


def panel_html(state: RunState) -> str:
    """Totals, graph, timeline and node cards of a run."""
    return render(
        "panel.html",
        status=esc(state.status),
        totals=run_view.totals(state),
        graph=run_view.graph_svg(state),
        timeline=run_view.timeline(state),
        nodes=run_view.node_cards(state),
    )
