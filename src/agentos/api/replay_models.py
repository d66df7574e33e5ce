"""The models a replay asked for over HTTP, checked against the pool before it forks."""

from __future__ import annotations

from fastapi import HTTPException

from agentos.actors.replay import cut_index
from agentos.api.runtime import Runtime
from agentos.routing.pool import ProviderPool, default_pool
from agentos.routing.what_if import WhatIf, replay_problem


async def replay_models(
    rt: Runtime, run_id: str, step: int | str, model: str | None, pool: ProviderPool | None = None
) -> WhatIf | None:
    """The what-if of a replay request (None: follow the models the original recorded);
    422 naming the provider or model when the pool (`pool`, else the catalog's) lacks
    it. UnknownStepError for a step the run lacks."""
    what_if = None if model is None and pool is None else WhatIf(model=model)
    events = await rt.store.read_all(run_id)
    problem = replay_problem(
        pool or rt.catalog.pool or default_pool(), events, cut_index(events, step), what_if
    )
    if problem is not None:
        hint = "" if what_if else '; configure it, or give "model" for a what-if'
        raise HTTPException(422, f"cannot replay: {problem}{hint}")
    return what_if
