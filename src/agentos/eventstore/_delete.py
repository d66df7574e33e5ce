"""Deleting a run of the JSONL store: its folder goes while its lock is held, so a
writer that has the run (open, or kept in `.writers`) is never pulled from under."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from agentos._exceptions import UnknownRunError, UnsafePathError
from agentos._files import fsync_dir
from agentos.eventstore._lock import RangeLocks, lock_log


def remove_run(log: Path, run_id: str, kept: RangeLocks, durable: bool) -> None:
    """Remove the folder of the run whose log is `log`: UnknownRunError without a log,
    RunLockedError while a writer has it. The folder is first renamed to a dot-name
    (never a run), so the run leaves the listing at once, even if removing its files
    is cut short."""
    run_dir = log.parent
    if run_dir.is_symlink() or log.is_symlink():
        raise UnsafePathError(f"refusing to delete run {run_id}: {log} is a symlink")
    try:
        fd = os.open(log, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise UnknownRunError(f"unknown run {run_id!r}") from None
    try:
        lock_log(fd, run_id, log)
        kept.check(fd, run_id, log)
        trash = run_dir.with_name(f".deleted-{run_id}-{os.getpid()}-{threading.get_ident()}")
        os.rename(run_dir, trash)
        if durable:
            fsync_dir(run_dir.parent)
        shutil.rmtree(trash)
    finally:
        os.close(fd)
