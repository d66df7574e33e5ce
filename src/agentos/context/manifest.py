"""The manifest of a compiled context: what went in, what was cut, and why."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ManifestItem(BaseModel):
    """One candidate piece of context and what became of it.

    `tokens` and `original_tokens` count the item's block, header line included.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    name: str
    tokens: int = Field(ge=0)
    original_tokens: int = Field(ge=0)
    status: Literal["included", "truncated", "dropped"]
    cut: int = Field(default=0, ge=0)
    reason: str | None = None
    sha256: str


class BudgetUse(BaseModel):
    """The token budget of a context and how much of it was used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int
    reserve: int
    used: int
    left: int


class Manifest(BaseModel):
    """Every item considered for a context, in priority order, with the budget use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str
    items: list[ManifestItem]
    budget: BudgetUse
    context_sha256: str


class CompiledContext(BaseModel):
    """The assembled context text and its manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    manifest: Manifest
    text: str
