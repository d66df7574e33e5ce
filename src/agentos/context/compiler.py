"""Compile a node's context from its profile: priority order, token budget, manifest."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

from pydantic import BaseModel

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

MIN_TRUNCATED_TOKENS = 16
"""The fewest content tokens worth keeping when an item is cut to fit the budget."""

EXHAUSTED = "budget exhausted"
MISSING = "missing"
NO_MATCH = "no match"

_DEFAULT_COUNTER = SimpleTokenCounter()


class ContextView(Protocol):
    """What the run knows, as seen by the context compiler."""

    @property
    def inputs(self) -> Mapping[str, Any]: ...

    @property
    def outputs(self) -> Mapping[str, Any]: ...

    @property
    def artifacts(self) -> Mapping[str, Any]: ...

    def files(self, globs: Sequence[str]) -> list[tuple[str, str]]:
        """Return (workspace path, text) of the files matching any glob, sorted by path."""
        ...


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(path: str, pattern: str) -> bool:
    """Match a posix path against a glob where `*` stays within a segment and `**` spans."""
    return _glob_regex(pattern).match(path) is not None


@dataclass(frozen=True)
class StaticView:
    """A fixed view for tests and simple callers; `workspace` maps paths to texts."""

    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    artifacts: Mapping[str, Any] = field(default_factory=dict)
    workspace: Mapping[str, str] = field(default_factory=dict)

    def files(self, globs: Sequence[str]) -> list[tuple[str, str]]:
        """Return (path, text) of the workspace files matching any glob, sorted by path."""
        return sorted(
            (path, text)
            for path, text in self.workspace.items()
            if any(glob_match(path, g) for g in globs)
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted((_jsonable(v) for v in value), key=lambda v: json.dumps(v, default=str))
    return str(value)


def render(value: Any) -> str:
    """Render a value deterministically: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2, default=_jsonable)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Piece:
    name: str
    content: str | None  # None: nothing to include
    reason: str | None = None


def _pieces(source: Source, view: ContextView) -> Iterator[_Piece]:
    if isinstance(source, InstructionsSource):
        yield _Piece("instructions", source.text)
    elif isinstance(source, InputsSource):
        keys = sorted(view.inputs) if source.keys is None else source.keys
        for key in keys:
            if key in view.inputs:
                yield _Piece(f"input:{key}", render(view.inputs[key]))
            else:
                yield _Piece(f"input:{key}", None, MISSING)
    elif isinstance(source, UpstreamSource):
        for node in source.nodes:
            output = view.outputs.get(node)
            if output is None:
                yield _Piece(f"upstream:{node}", None, MISSING)
            else:
                yield _Piece(f"upstream:{node}", render(output))
    elif isinstance(source, FilesSource):
        yield from _file_pieces(source, view)
    elif isinstance(source, ArtifactsSource):
        for name in source.names:
            if name in view.artifacts:
                yield _Piece(f"artifact:{name}", render(view.artifacts[name]))
            else:
                yield _Piece(f"artifact:{name}", None, MISSING)


def _file_pieces(source: FilesSource, view: ContextView) -> Iterator[_Piece]:
    found: dict[str, str] = {}
    for pattern in source.globs:
        matches = view.files([pattern])
        if not matches:
            yield _Piece(pattern, None, NO_MATCH)
        found.update(matches)
    for index, path in enumerate(sorted(found)):
        if index < source.max_files:
            yield _Piece(path, found[path])
        else:
            yield _Piece(path, None, f"over max_files ({source.max_files})")


def compile_context(
    profile_name: str,
    profile: ContextProfile,
    view: ContextView,
    counter: TokenCounter = _DEFAULT_COUNTER,
) -> CompiledContext:
    """Assemble the profile's sources in priority order within its budget, with a manifest."""
    available = max(profile.budget - profile.reserve, 0)
    left = available
    exhausted = False
    items: list[ManifestItem] = []
    blocks: list[str] = []
    for source in profile.sources:
        for piece in _pieces(source, view):
            if piece.content is None:
                items.append(
                    ManifestItem(
                        source=source.kind,
                        name=piece.name,
                        tokens=0,
                        original_tokens=0,
                        status="dropped",
                        reason=piece.reason,
                        sha256=_sha(""),
                    )
                )
                continue
            header = f"## {piece.name}"
            header_tokens = counter.count(header)
            full_tokens = header_tokens + counter.count(piece.content)
            content = piece.content
            reason: str | None = None
            if source.max_tokens is not None and full_tokens > source.max_tokens:
                content = counter.truncate(content, max(source.max_tokens - header_tokens, 0))
                reason = f"over source max_tokens ({source.max_tokens})"
            kept: str | None = content
            if exhausted:
                kept, reason = None, EXHAUSTED
            elif header_tokens + counter.count(content) > left:
                exhausted = True
                room = left - header_tokens
                if room >= MIN_TRUNCATED_TOKENS:
                    kept = counter.truncate(content, room)
                    reason = f"budget: {left} tokens left"
                else:
                    kept, reason = None, EXHAUSTED
            status: Literal["included", "truncated", "dropped"]
            if kept is None:
                tokens, status = 0, "dropped"
            else:
                tokens = header_tokens + counter.count(kept)
                status = "included" if tokens == full_tokens else "truncated"
                left -= tokens
                blocks.append(f"{header}\n{kept}" if kept else header)
            items.append(
                ManifestItem(
                    source=source.kind,
                    name=piece.name,
                    tokens=tokens,
                    original_tokens=full_tokens,
                    status=status,
                    cut=full_tokens - tokens,
                    reason=reason,
                    sha256=_sha(piece.content),
                )
            )
    text = "\n\n".join(blocks)
    manifest = Manifest(
        profile=profile_name,
        items=items,
        budget=BudgetUse(
            limit=profile.budget,
            reserve=profile.reserve,
            used=available - left,
            left=left,
        ),
        context_sha256=_sha(text),
    )
    return CompiledContext(manifest=manifest, text=text)
