"""The control plane: `create_app(data_dir)` builds the FastAPI app served by uvicorn."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from agentos.agents.registry import AgentRegistry
from agentos.api import (
    dashboard,
    metrics,
    routes_catalog,
    routes_diff,
    routes_nodes,
    routes_resources,
    routes_runs,
    routes_signals,
)
from agentos.api.auth import require_token
from agentos.api.guard import RequestGuard
from agentos.api.models import ERROR_RESPONSES, HTML_ERROR_RESPONSES
from agentos.api.redact import redact_access_log
from agentos.api.runtime import Runtime, from_cwd
from agentos.eventstore.base import EventStore
from agentos.eventstore.jsonl import default_root
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs.validate import GraphValidationError
from agentos.observe import observers

STATIC = Path(__file__).with_name("static")


def create_app(
    data_dir: Path | None = None,
    token: str | None = None,
    agents: AgentRegistry | None = None,
    *,
    allow_agents: Sequence[str] = (),
    allowed_hosts: Sequence[str] | None = None,
    resolve_source: Callable[[str], Path] = from_cwd,
    store: str | Callable[[], EventStore] | None = None,
    capacity: int = 100,
) -> FastAPI:
    """The app over `data_dir` (default AGENTOS_DATA_DIR or ./data).

    `token` (default AGENTOS_API_TOKEN) turns on bearer authentication. HTTP clients may
    name the agents registered in `agents` (default: `agentos.agents.default_registry`) and
    import paths matching an `allow_agents` pattern (fnmatch over `module:callable`). With
    `allowed_hosts`, a request whose Host is not one of them is refused. A relative
    workspace source in a run's inputs becomes `resolve_source(value)` (default: against
    the current directory). `store` keeps the runs elsewhere than in the data dir: a
    postgresql:// URL, or a factory of the store. Supervisors start in the lifespan,
    on the server's loop, and runs left unfinished are resumed there. Lifecycle lines go
    to the `agentos.lifecycle` logger; traces are on when the OTEL_* variables ask
    (InvalidInputError when they cannot be, see `agentos.observe.otel_env`). On a
    PostgreSQL store the server is a member (`agentos.cluster`): `POST /runs` queues a
    run for the first member with room, and it drives up to `capacity` runs itself,
    taking over those whose process died.
    """
    root = Path(data_dir) if data_dir is not None else default_root()
    token = token if token is not None else os.environ.get("AGENTOS_API_TOKEN") or None
    counted = metrics.Metrics()
    observed = observers.from_env()  # lifecycle logs; traces when OTEL_* asks for them

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(
            root,
            agents,
            resolve_source=resolve_source,
            store=_store_factory(store),
            listeners=[counted.listen, *observed.listeners],
        )
        app.state.runtime = runtime
        counted.watch_store(runtime.store)
        try:
            if isinstance(runtime.store, PostgresEventStore):
                # a member takes over orphans itself: no resume here
                runtime.start_member(capacity, counted.queued.set)
            app.state.resumed = [] if runtime.member else await runtime.resume_unfinished()
            for run_id in app.state.resumed:
                observed.resumed(await runtime.state(run_id))
            yield
        finally:
            await runtime.stop()
            observed.close()

    # with a token, the schema and its docs page are served behind it too (see below)
    public_docs = token is None
    app = FastAPI(
        title="AgentOS control plane",
        version="0.1.0",
        summary="Declarative multi-agent graphs, event-sourced runs, replay.",
        lifespan=lifespan,
        openapi_url="/openapi.json" if public_docs else None,
        docs_url="/docs" if public_docs else None,
        redoc_url="/redoc" if public_docs else None,
    )
    app.state.token = token
    app.state.metrics = counted
    app.state.allow_agents = list(allow_agents)
    app.add_middleware(RequestGuard, allowed_hosts=allowed_hosts)
    redact_access_log()
    app.exception_handler(GraphValidationError)(_graph_problems)
    app.exception_handler(RequestValidationError)(_invalid_request)
    app.include_router(routes_resources.open_router, responses=ERROR_RESPONSES)
    secured = [Depends(require_token)]
    routers = (
        routes_resources.router,
        routes_catalog.router,
        routes_runs.router,
        routes_diff.router,
        routes_nodes.router,
        routes_signals.router,
        metrics.router,
    )
    for router in routers:
        app.include_router(router, dependencies=secured, responses=ERROR_RESPONSES)
    app.include_router(dashboard.router, dependencies=secured, responses=HTML_ERROR_RESPONSES)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if not public_docs:
        _secured_docs(app, secured)
    return app


def _secured_docs(app: FastAPI, secured: list[Any]) -> None:
    """The OpenAPI schema and its docs page, behind the token."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=secured)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=secured)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="AgentOS control plane")


async def _graph_problems(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GraphValidationError)
    problems = [{"where": p.where, "message": p.message} for p in exc.problems]
    return JSONResponse({"detail": {"problems": problems}}, status_code=422)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, falling back to the fields and reasons alone when the echoed input
    is not JSON (bytes that are not UTF-8, NaN, lone surrogates), which would be a 500."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    try:
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        plain = [
            {
                "type": _printable(e.get("type")),
                "loc": [x if isinstance(x, int) else _printable(x) for x in e.get("loc", ())],
                "msg": _printable(e.get("msg")),
            }
            for e in errors
        ]
        return JSONResponse({"detail": plain}, status_code=422)


def _printable(value: object) -> str:
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def _store_factory(store: str | Callable[[], EventStore] | None) -> Callable[[], EventStore] | None:
    """What the runtime opens its store with: a postgresql:// URL, a factory, or None
    (the JSONL store of the data dir)."""
    if isinstance(store, str):
        url = store
        return lambda: PostgresEventStore(url)
    return store
