"""The dashboard: server-rendered pages, kept live by a little JavaScript (static/app.js)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from agentos.api import run_graph, run_view
from agentos.api.auth import remember
from agentos.api.diff_view import diff_html
from agentos.api.render import esc, page, render, seconds, status_badge, tag
from agentos.api.routes_diff import run_diff
from agentos.api.routes_resources import runtime
from agentos.api.routes_runs import LISTED_STATUSES, state_or_404
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


PAGE_SIZE = 25


@router.get("/dashboard", response_class=HTMLResponse)
async def runs_page(request: Request) -> HTMLResponse:
    """The runs, a page at a time, with filters; a form that starts a run of a graph
    with the inputs it declares."""
    rt = runtime(request)
    await rt.refresh()  # the graphs other members registered too
    runs = await rt.listing()
    rows = "".join(run_row(s) for s in runs[:PAGE_SIZE])
    registered = rt.catalog.graphs
    names = sorted(registered)
    graphs = "".join(
        tag("option", name, value=name, data_inputs=_json(registered[name].inputs))
        for name in names
    )
    statuses = "".join(tag("option", s, value=s) for s in LISTED_STATUSES)
    body = render(
        "runs.html",
        rows=rows,
        graphs=graphs,
        graph_filter="".join(tag("option", name, value=name) for name in names),
        statuses=statuses,
        total=esc(len(runs)),
        page_size=esc(PAGE_SIZE),
    )
    response = HTMLResponse(page("AgentOS runs", body, "runs"))
    remember(request, response)
    return response


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


@router.get("/dashboard/runs/{run_id}", response_class=HTMLResponse)
async def run_page(run_id: str, request: Request) -> HTMLResponse:
    """A run: graph, timeline, events (live), contexts, models, totals, replay."""
    state = await state_or_404(runtime(request), run_id)
    options = "".join(tag("option", n, value=n) for n in run_graph.node_names(state))
    origin = state.replayed_from
    replayed = (
        "replay of "
        + tag("a", origin.source_run, href=f"/dashboard/runs/{origin.source_run}")
        + esc(f" from {origin.from_step} (seq {origin.from_seq})")
        + tag("span", " · nodes marked inherited were copied, re-ran ran again", cls="muted")
        + " · "
        + tag(
            "a",
            "diff with its source",
            href=f"/dashboard/diff/{origin.source_run}/{state.run_id}",
            id="diff-source",
        )
        if origin
        else ""
    )
    replayed += parent_link(state)
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


def parent_link(state: RunState) -> str:
    """`child of RUN (node N)` for a child run, linking back to its parent."""
    parent = getattr(state, "parent", None)
    if isinstance(parent, BaseModel):
        parent = parent.model_dump()
    if not isinstance(parent, dict) or not parent.get("run_id"):
        return ""
    run_id = str(parent["run_id"])
    link = tag("a", run_id, href=f"/dashboard/runs/{run_id}", cls="parent-run")
    return f" child of {link}" + esc(f" (node {parent.get('node')})")


@router.get("/dashboard/diff/{run_a}/{run_b}", response_class=HTMLResponse)
async def diff_page(run_a: str, run_b: str, request: Request) -> HTMLResponse:
    """Two runs compared step by step (GET /runs/{a}/diff/{b} as a page)."""
    diff = await run_diff(runtime(request), run_a, run_b)
    response = HTMLResponse(page(f"AgentOS diff {run_a} {run_b}", diff_html(diff), "diff"))
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
        graph=run_graph.graph_svg(state),
        timeline=run_view.timeline(state),
        nodes=run_view.node_cards(state),
    )
