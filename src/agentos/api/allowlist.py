"""Which agents HTTP clients may name: the server's registered agents, plus import paths
matching the patterns the operator allowed (`agentos serve --allow-agents`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from agentos._exceptions import AgentNotAllowedError as AgentNotAllowedError
from agentos.agents.registry import AgentRegistry

ENV = "AGENTOS_ALLOW_AGENTS"


def split_patterns(text: str | None) -> list[str]:
    """The comma-separated patterns of `text` (an option or AGENTOS_ALLOW_AGENTS)."""
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def env_patterns() -> list[str]:
    """The patterns of AGENTOS_ALLOW_AGENTS."""
    return split_patterns(os.environ.get(ENV))


def check_agents(refs: Iterable[str], registry: AgentRegistry, patterns: Sequence[str]) -> None:
    """Raise AgentNotAllowedError for the first reference that is neither registered in
    `registry` nor an import path matching one of `patterns` (fnmatch, case-sensitive)."""
    for ref in refs:
        if ref in registry or any(fnmatchcase(ref, p) for p in patterns):
            continue
        module = ref.partition(":")[0] or ref
        raise AgentNotAllowedError(
            f"agent {ref!r} is not allowed over HTTP: allow it with "
            f"agentos serve --allow-agents '{module}:*' (or {ENV})"
        )
