"""Confine relative paths to a root directory and validate single path components."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from agentos._exceptions import PathEscapeError as PathEscapeError
from agentos._names import safe_name as safe_name


def resolve_inside(root: Path, rel: str) -> Path:
    """Return the real path of ``rel`` under ``root``, refusing anything that leaves it.

    Refuses empty and absolute paths, NUL bytes, ``..`` above the root and symlinks
    (on any component, dangling or not) whose target lies outside the root.
    """
    if not rel or not rel.strip():
        raise PathEscapeError("empty path")
    if "\x00" in rel:
        raise PathEscapeError(f"path contains a NUL byte: {rel!r}")
    if PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute():
        raise PathEscapeError(f"absolute path not allowed: {rel!r}")
    base = root.resolve()
    current = base
    for part in PurePosixPath(rel).parts:
        if part == ".":
            continue
        if part == "..":
            if current == base:
                raise PathEscapeError(f"path leaves the workspace: {rel!r}")
            current = current.parent
            continue
        candidate = current / part
        if candidate.is_symlink():
            try:
                target = candidate.resolve()
            except (OSError, RuntimeError) as exc:
                raise PathEscapeError(f"unresolvable symlink in path {rel!r}: {exc}") from exc
            if not target.is_relative_to(base):
                raise PathEscapeError(f"symlink in path {rel!r} points outside the workspace")
            candidate = target
        current = candidate
    if not current.is_relative_to(base):
        raise PathEscapeError(f"path leaves the workspace: {rel!r}")
    return current
