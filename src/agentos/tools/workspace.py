"""A run's workspace directory: text file access with every change recorded as a FileWrite."""

from __future__ import annotations

import builtins
import hashlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agentos._exceptions import InvalidEventError, UnsafePathError
from agentos.tools.patch import apply_unified_patch, patch_paths
from agentos.tools.paths import PathEscapeError, resolve_inside

SKIP_DIRS = frozenset({".git", "__pycache__", ".pytest_cache", ".venv", "node_modules"})
SKIP_SUFFIXES = frozenset({".pyc"})


class FileWrite(BaseModel):
    """One recorded change to a workspace file; enough to redo it."""

    model_config = ConfigDict(frozen=True)

    path: str
    op: Literal["write", "delete"]
    content: str | None = None
    sha256: str | None = None
    size: int = 0


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _skipped(rel: PurePosixPath) -> bool:
    return any(part in SKIP_DIRS for part in rel.parts) or rel.suffix in SKIP_SUFFIXES


def _walk(root: Path) -> Iterator[str]:
    """Yield relative posix paths of regular (non-symlink) files, skipping ignored dirs."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in filenames:
            full = Path(dirpath, name)
            rel = PurePosixPath(full.relative_to(root).as_posix())
            if not _skipped(rel) and full.is_file() and not full.is_symlink():
                yield rel.as_posix()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None


def snapshot_tree(src: Path) -> dict[str, str]:
    """Return relative posix path -> text for every utf-8 regular file under ``src``, sorted."""
    if not src.is_dir():
        raise FileNotFoundError(f"source tree {src} does not exist or is not a directory")
    out: dict[str, str] = {}
    for rel in sorted(_walk(src)):
        text = _read_text(src / rel)
        if text is not None:
            out[rel] = text
    return out


def apply_write(root: Path, write: FileWrite) -> None:
    """Redo one recorded write or delete under ``root``."""
    target = resolve_inside(root, write.path)
    if write.op == "delete":
        target.unlink(missing_ok=True)
        return
    if write.content is None:
        raise InvalidEventError(f"write of {write.path!r} carries no content")
    if write.sha256 is not None and _digest(write.content) != write.sha256:
        raise InvalidEventError(f"write of {write.path!r} does not match its sha256")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(write.content.encode("utf-8"))


def materialize(root: Path, base: Mapping[str, str], writes: Iterable[FileWrite]) -> None:
    """Rebuild ``root`` from scratch: the ``base`` files, then ``writes`` in order."""
    real = root.resolve()
    if real == Path(real.anchor) or real == Path.home().resolve():
        raise UnsafePathError(f"refusing to rebuild {root}: not a workspace directory")
    if root.exists() or root.is_symlink():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for rel, text in base.items():
        apply_write(root, FileWrite(path=rel, op="write", content=text))
    for write in writes:
        apply_write(root, write)


class Workspace:
    """Text files under ``root``; every change is reported to ``on_write`` once on disk."""

    def __init__(self, root: Path, on_write: Callable[[FileWrite], None] | None = None) -> None:
        self.root = root
        self.on_write = on_write

    def _path(self, path: str) -> Path:
        return resolve_inside(self.root, path)

    def _rel(self, path: str) -> str:
        return self._path(path).relative_to(self.root.resolve()).as_posix()

    def read(self, path: str) -> str:
        """Return the utf-8 text of ``path``."""
        return self._path(path).read_bytes().decode("utf-8")

    def exists(self, path: str) -> bool:
        """Return whether ``path`` is an existing regular file."""
        return self._path(path).is_file()

    def _record(self, write: FileWrite) -> FileWrite:
        if self.on_write is not None:
            self.on_write(write)
        return write

    def write(self, path: str, text: str) -> FileWrite:
        """Write ``text`` to ``path`` (creating directories) and record it."""
        rel = self._rel(path)
        target = self._path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        target.write_bytes(data)
        return self._record(
            FileWrite(path=rel, op="write", content=text, sha256=_digest(text), size=len(data))
        )

    def delete(self, path: str) -> FileWrite:
        """Delete the file ``path`` and record it."""
        rel = self._rel(path)
        target = self._path(rel)
        if not target.is_file():
            raise FileNotFoundError(f"no such file in workspace: {rel}")
        target.unlink()
        return self._record(FileWrite(path=rel, op="delete"))

    def list(self, pattern: str = "**/*") -> list[str]:
        """Return sorted relative paths of files matching the glob ``pattern``."""
        pure = PurePosixPath(pattern)
        if pure.is_absolute() or ".." in pure.parts:
            raise PathEscapeError(f"glob must stay inside the workspace: {pattern!r}")
        root = self.root.resolve()
        found: set[str] = set()
        for full in root.glob(pattern):
            rel = PurePosixPath(full.relative_to(root).as_posix())
            if _skipped(rel) or full.is_symlink() or not full.is_file():
                continue
            try:
                resolve_inside(root, rel.as_posix())
            except PathEscapeError:
                continue
            found.add(rel.as_posix())
        return sorted(found)

    def files(self, globs: Sequence[str]) -> builtins.list[tuple[str, str]]:
        """Return sorted (path, text) pairs for files matching any glob, skipping non-text."""
        paths = sorted({p for pattern in globs for p in self.list(pattern)})
        out: builtins.list[tuple[str, str]] = []
        for rel in paths:
            text = _read_text(self._path(rel))
            if text is not None:
                out.append((rel, text))
        return out

    def apply_patch(self, patch: str) -> builtins.list[FileWrite]:
        """Apply a unified diff (all or nothing) and return the recorded writes."""
        current = {p: self.read(p) for p in patch_paths(patch) if self.exists(p)}
        updated = apply_unified_patch(current, patch)
        return [self.write(rel, text) for rel, text in updated.items()]

    def snapshot(self) -> dict[str, str]:
        """Return relative path -> text for every text file in the workspace."""
        return snapshot_tree(self.root)
