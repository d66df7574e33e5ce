"""Declarative resources: policies, context profiles, the provider pool, graphs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, HTTPException, Request

from agentos._exceptions import (
    AgentNotAllowedError,
    InvalidInputError,
    UnknownGraphError,
)
from agentos.api.allowlist import check_agents
from agentos.api.models import (
    Detail,
    GraphSummary,
    Health,
    Ok,
    PolicyRegistration,
    ProfileRegistration,
)
from agentos.api.runtime import Runtime
from agentos.graphs.spec import GraphSpec
from agentos.routing.pool import ProviderPool

open_router = APIRouter(tags=["health"])
router = APIRouter(tags=["resources"])


def runtime(request: Request) -> Runtime:
    """The app's runtime (started by the lifespan)."""
    rt: Runtime = request.app.state.runtime
    return rt


async def fresh(request: Request) -> Runtime:
    """The app's runtime, its catalog reloaded if another process changed it (a shared
    store's: one cheap query)."""
    rt = runtime(request)
    await rt.refresh()
    return rt


def _version() -> str:
    try:
        return version("agentos")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "0"


@open_router.get("/health", response_model=Health)
async def health() -> Health:
    """Whether the server is up (never needs the token)."""
    return Health(version=_version())


@router.post("/policies", response_model=Ok)
async def register_policy(body: PolicyRegistration, request: Request) -> Ok:
    """Register (or replace) a named policy."""
    rt = await fresh(request)
    await _checked(lambda: rt.catalog.put_policy(body.name, body.policy))
    rt.invalidate()
    return Ok(name=body.name)


@router.post("/contextprofiles", response_model=Ok)
async def register_profile(body: ProfileRegistration, request: Request) -> Ok:
    """Register (or replace) a named context profile."""
    rt = await fresh(request)
    await _checked(lambda: rt.catalog.put_profile(body.name, body.profile))
    rt.invalidate()
    return Ok(name=body.name)


@router.post("/providerpool", response_model=Ok)
async def set_provider_pool(body: ProviderPool, request: Request) -> Ok:
    """Replace the provider pool new runs route their model calls through."""
    rt = await fresh(request)
    await _checked(lambda: rt.catalog.set_pool(body))
    rt.invalidate()
    return Ok(name="providerpool")


@router.post(
    "/graphs",
    response_model=Ok,
    responses={403: {"model": Detail, "description": "an agent not allowed over HTTP"}},
)
async def register_graph(body: GraphSpec, request: Request) -> Ok:
    """Validate and register a graph; 422 lists every problem, and nothing is stored.

    Its agents must be registered in the server's registry or match a pattern of
    `agentos serve --allow-agents` (else 403, before any module is imported).
    """
    rt = await fresh(request)
    try:
        refs = (n.agent for n in body.nodes if n.agent)
        check_agents(refs, rt.agents, request.app.state.allow_agents)
    except AgentNotAllowedError as exc:
        raise HTTPException(403, str(exc)) from None
    await _checked(lambda: rt.catalog.put_graph(body))
    rt.invalidate(body.name)
    return Ok(name=body.name)


@router.get("/graphs", response_model=list[GraphSummary])
async def list_graphs(request: Request) -> list[GraphSummary]:
    """The registered graphs."""
    graphs = (await fresh(request)).catalog.graphs.values()
    return [
        GraphSummary(
            name=g.name,
            description=g.description,
            version=g.version,
            nodes=[n.name for n in g.nodes],
        )
        for g in sorted(graphs, key=lambda g: g.name)
    ]


@router.get("/graphs/{name}", response_model=GraphSpec)
async def get_graph(name: str, request: Request) -> GraphSpec:
    """A registered graph, as registered."""
    return graph_or_404(await fresh(request), name)


def graph_or_404(rt: Runtime, name: str) -> GraphSpec:
    """The graph `name`, else a 404 naming the registered graphs."""
    try:
        return rt.catalog.graph(name)
    except UnknownGraphError as exc:
        raise HTTPException(404, str(exc)) from None


async def _checked(register: Callable[[], object]) -> None:
    """Run a registration off the loop (it fsyncs, or writes the store's table); a bad
    name or value becomes a 422."""
    try:
        await asyncio.to_thread(register)
    except InvalidInputError as exc:
        raise HTTPException(422, str(exc)) from None
