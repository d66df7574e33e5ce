"""Context engineering: token counting, profiles compiled into budgeted contexts."""

from agentos.context.compiler import (
    MIN_TRUNCATED_TOKENS,
    ContextView,
    StaticView,
    compile_context,
    glob_match,
    render,
)
from agentos.context.manifest import BudgetUse, CompiledContext, Manifest, ManifestItem
from agentos.context.profile import (
    ArtifactsSource,
    ContextProfile,
    FilesSource,
    InputsSource,
    InstructionsSource,
    Source,
    UpstreamSource,
)
from agentos.context.tokens import SimpleTokenCounter, TokenCounter

__all__ = [
    "MIN_TRUNCATED_TOKENS",
    "ArtifactsSource",
    "BudgetUse",
    "CompiledContext",
    "ContextProfile",
    "ContextView",
    "FilesSource",
    "InputsSource",
    "InstructionsSource",
    "Manifest",
    "ManifestItem",
    "SimpleTokenCounter",
    "Source",
    "StaticView",
    "TokenCounter",
    "UpstreamSource",
    "compile_context",
    "glob_match",
    "render",
]
