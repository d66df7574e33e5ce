"""Preparing a node attempt: upstream outputs, compiled context, chosen model."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agentos.actors._run import LiveRun
from agentos.actors.messages import Execute
from agentos.context.compiler import compile_context
from agentos.context.manifest import CompiledContext
from agentos.context.profile import ContextProfile
from agentos.events import model as ev
from agentos.graphs.policy import Policy
from agentos.routing.router import Router, Selection
from agentos.tools.workspace import Workspace

DEFAULT_ANSWER_TOKENS = 256


class RunView:
    """The run as the context compiler sees it: inputs, outputs, artifacts, files."""

    def __init__(self, run: LiveRun) -> None:
        self._run = run

    @property
    def inputs(self) -> Mapping[str, Any]:
        return self._run.state.inputs

    @property
    def outputs(self) -> Mapping[str, Any]:
        return node_outputs(self._run)

    @property
    def artifacts(self) -> Mapping[str, Any]:
        return self._run.artifacts

    def files(self, globs: Sequence[str]) -> list[tuple[str, str]]:
        if self._run.workspace_root is None:
            return []
        return Workspace(Path(self._run.workspace_root)).files(globs)


def node_outputs(run: LiveRun) -> dict[str, Any]:
    """The recorded outputs of every node that succeeded so far."""
    return {
        name: node.output
        for name, node in run.state.nodes.items()
        if node.status == "succeeded" and node.output is not None
    }


def node_upstream(run: LiveRun, name: str) -> dict[str, dict[str, Any]]:
    """Status, output and error of each direct predecessor: what a join decides on."""
    return {
        pred: {
            "status": run.state.nodes[pred].status,
            "output": run.state.nodes[pred].output,
            "error": run.state.nodes[pred].error,
        }
        for pred in run.topo.predecessors(name)
    }


def compile_for(
    run: LiveRun, name: str, profile_name: str, profile: ContextProfile
) -> CompiledContext:
    """The node's context compiled from its profile and the run as it stands."""
    return compile_context(profile_name, profile, RunView(run))


def select_for(
    router: Router, run: LiveRun, policy: Policy, context: CompiledContext, reserve: int
) -> Selection:
    """The model for the attempt: fits the context, meets the policy, within the budget mode."""
    return router.select(
        tokens_in=context.manifest.budget.used,
        max_out=reserve or DEFAULT_ANSWER_TOKENS,
        min_tier=policy.min_tier if run.max_tier is None else 1,
        preferred=policy.preferred_models,
        max_tier=run.max_tier,
    )


def prepare_attempt(run: LiveRun, name: str, attempt: int, router: Router) -> Execute:
    """Emit the attempt's context_compiled and model_selected events; the job to run.

    Raises NoModelFitsError when no model fits the compiled context.
    """
    policy = run.policy(name)
    node = run.topo.node(name)
    context = model = None
    profile = run.spec.profile_for(name) if node.context is not None else None
    if profile is not None:
        ref = node.context or ""
        context = compile_for(run, name, ref, profile)
        run.emit(
            ev.ContextCompiled,
            name,
            attempt,
            profile=ref,
            manifest=context.manifest.model_dump(mode="json"),
            context_artifact=context_artifact(context),
        )
        model = select_for(router, run, policy, context, profile.reserve)
        run.emit(
            ev.ModelSelected,
            name,
            attempt,
            provider=model.chosen.provider,
            model=model.chosen.model,
            reason=model.reason,
            candidates=[c.model_dump(mode="json") for c in model.candidates],
        )
    return Execute(
        run_id=run.run_id,
        node=name,
        attempt=attempt,
        inputs=run.state.inputs,
        outputs=node_outputs(run),
        upstream=node_upstream(run, name),
        params=node.params,
        timeout=policy.timeout,
        context=context,
        model=model,
        workspace_root=run.workspace_root,
        seed=zlib.crc32(f"{name}:{attempt}".encode()),
    )


def context_artifact(context: CompiledContext) -> str:
    """The artifact name under which an attempt's context text is kept."""
    return f"context-{context.manifest.context_sha256[:16]}"
