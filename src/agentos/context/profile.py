"""Context profiles: declarative recipes for what a node's context holds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentos.events.limits import MAX_TOKENS


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS)


class InstructionsSource(_Source):
    """Fixed text, such as the agent's role and rules."""

    kind: Literal["instructions"] = "instructions"
    text: str


class InputsSource(_Source):
    """The run's inputs; all of them when `keys` is None."""

    kind: Literal["inputs"] = "inputs"
    keys: list[str] | None = None


class UpstreamSource(_Source):
    """The recorded outputs of named upstream nodes."""

    kind: Literal["upstream"] = "upstream"
    nodes: list[str]


class FilesSource(_Source):
    """Workspace files matching glob patterns, in sorted order."""

    kind: Literal["files"] = "files"
    globs: list[str]
    max_files: int = Field(default=20, gt=0, le=MAX_TOKENS)


class ArtifactsSource(_Source):
    """Named artifacts of the run."""

    kind: Literal["artifacts"] = "artifacts"
    names: list[str]


Source = Annotated[
    InstructionsSource | InputsSource | UpstreamSource | FilesSource | ArtifactsSource,
    Field(discriminator="kind"),
]


class ContextProfile(BaseModel):
    """A token budget, a reserve for the answer, and sources in priority order."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    budget: int = Field(
        gt=0, le=MAX_TOKENS, description="tokens the context may hold, answer reserve included"
    )
    reserve: int = Field(
        default=0, ge=0, le=MAX_TOKENS, description="tokens kept free for the answer"
    )
    sources: list[Source] = Field(default_factory=list)
