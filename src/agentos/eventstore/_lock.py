"""One writer per run across processes: an exclusive flock on the run's own log."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from agentos.eventstore.base import RunLockedError


def lock_log(fd: int, run_id: str, path: str | Path) -> None:
    """Lock the open log `fd` for writing; RunLockedError if another writer holds it.

    The lock lives as long as the descriptor: closing it, or the process dying, drops it.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RunLockedError(
            f"run {run_id} is already being written (its log {path} is locked by pid "
            f"{_holder(fd)}); only one supervisor may write a run at a time"
        ) from None


def is_held(path: Path) -> bool:
    """Whether some writer (this process included) holds the log at `path` now."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's own lock at once
    return False


def _holder(fd: int) -> str:
    """The pid holding a flock on `fd`'s file, as /proc/locks tells; "unknown" elsewhere."""
    st = os.fstat(fd)
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2148771 0 EOF"; waiters carry a "->"
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == key:
            return parts[4]
    return "unknown"
