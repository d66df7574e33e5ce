"""Preparing an attempt outside the decision: its compiled context and its model."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentos.context.compiler import compile_context
from agentos.machine.effects import Prepare
from agentos.machine.facts import Prepared
from agentos.routing.router import NoModelFitsError, Router
from agentos.tools.workspace import Workspace

DEFAULT_ANSWER_TOKENS = 256


@dataclass(frozen=True)
class RunView:
    """The run as the context compiler sees it when the attempt started."""

    job: Prepare

    @property
    def inputs(self) -> Mapping[str, Any]:
        return self.job.inputs

    @property
    def outputs(self) -> Mapping[str, Any]:
        return self.job.outputs

    @property
    def artifacts(self) -> Mapping[str, Any]:
        return self.job.artifacts

    def files(self, globs: Sequence[str]) -> list[tuple[str, str]]:
        if self.job.workspace_root is None:
            return []
        return Workspace(Path(self.job.workspace_root)).files(globs)


async def prepare(job: Prepare, router: Router) -> Prepared:
    """Compile the context (off the loop when it reads workspace files), then choose the
    model on the loop, where the router counts the calls in flight."""
    view = RunView(job)
    if job.workspace_root is not None and any(s.kind == "files" for s in job.profile.sources):
        context = await asyncio.to_thread(compile_context, job.profile_name, job.profile, view)
    else:
        context = compile_context(job.profile_name, job.profile, view)
    try:
        model = router.select(
            tokens_in=context.manifest.budget.used,
            max_out=job.profile.reserve or DEFAULT_ANSWER_TOKENS,
            min_tier=job.min_tier,
            preferred=job.preferred,
            max_tier=job.max_tier,
        )
    except NoModelFitsError as exc:
        return Prepared(
            job.run_id, job.node, job.attempt, context, None, str(exc), "NoModelFitsError"
        )
    return Prepared(job.run_id, job.node, job.attempt, context, model)
