"""Durable file replacement: write aside, fsync, rename over, fsync the directory."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from agentos._exceptions import UnsafePathError as UnsafePathError


def confined(root: Path, path: Path) -> Path:
    """Return `path` if it lies inside `root` through no symlink, else raise UnsafePathError.

    Every existing component below `root` is checked, so a symlinked folder or file is
    refused even when it points back inside `root`.
    """
    try:
        relative = path.relative_to(root)
    except ValueError:
        raise UnsafePathError(f"{path} is outside {root}") from None
    if ".." in relative.parts:
        raise UnsafePathError(f"{path} is outside {root}")
    level = root
    for part in relative.parts:
        level = level / part
        if level.is_symlink():
            raise UnsafePathError(f"refusing {path}: {level} is a symlink")
    if path.exists() and not path.resolve().is_relative_to(root.resolve()):
        raise UnsafePathError(f"refusing {path}: it resolves outside {root}")
    return path


def fsync_dir(path: Path) -> None:
    """Make the directory's entries (a created or renamed file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path, durable: bool = True) -> None:
    """Create `path` and any missing parents; with `durable`, each new folder's name is
    on disk (its parent fsynced) when this returns."""
    missing = []
    level = path
    while not level.exists():
        missing.append(level)
        level = level.parent
    path.mkdir(parents=True, exist_ok=True)
    if durable:
        for created in reversed(missing):
            fsync_dir(created.parent)


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file, whole.

    With `durable`, the new file and its name are on disk when this returns.
    """
    make_dirs(path.parent, durable)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)
