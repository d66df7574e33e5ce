"""One writer per run across processes: an exclusive flock on the run's own log.

A store that closes an idle log to stay under the open-file limit keeps the run by a
byte-range lock instead: an OFD lock on byte `inode` of `{root}/.writers`, taken before
the log's descriptor (and its flock) goes. Writers check both, so a run is refused to
a second writer for as long as its owner has it, open or not. The file is made by the
first store that closes an idle log; until then nobody pays for it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import threading
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
    else:
        return _range_held(path.parent.parent / WRITERS, os.fstat(fd).st_ino)
    finally:
        os.close(fd)  # closing drops the probe's own lock at once


WRITERS = ".writers"
_FLOCK = "hhqqi4x"  # struct flock on 64-bit Linux: type, whence, start, len, pid
_KEY_MASK = (1 << 62) - 1  # an inode as a byte offset a lock can cover
_OFD = hasattr(fcntl, "F_OFD_SETLK")  # Linux 3.15+; elsewhere no log is closed early


def _range(fd: int, cmd: int, kind: int, ino: int) -> int:
    """fcntl on the one byte of run `ino`; the lock type the kernel answers."""
    arg = struct.pack(_FLOCK, kind, os.SEEK_SET, ino & _KEY_MASK, 1, 0)
    return int(struct.unpack(_FLOCK, fcntl.fcntl(fd, cmd, arg))[0])


def _range_held(writers: Path, ino: int) -> bool:
    """Whether another open file (of any process) holds run `ino` in `writers`."""
    if not _OFD:
        return False
    try:
        fd = os.open(writers, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        return _range(fd, fcntl.F_OFD_GETLK, fcntl.F_WRLCK, ino) != fcntl.F_UNLCK
    finally:
        os.close(fd)


class RangeLocks:
    """The runs of one store whose logs it closed while keeping them: locks in `.writers`."""

    def __init__(self, root: Path) -> None:
        self.path = root / WRITERS
        self._fd: int | None = None
        self._mutex = threading.Lock()

    def check(self, fd: int, run_id: str, path: str | Path) -> None:
        """RunLockedError if another store keeps the run of the open log `fd` by a range lock.

        Asked through this store's own descriptor of the file (its own locks never
        conflict with it: it never claims a run it keeps), so no descriptor per check."""
        with self._mutex:
            if not _OFD:
                return
            if self._fd is None:
                try:
                    self._fd = os.open(self.path, os.O_RDWR)
                except FileNotFoundError:
                    return  # nobody ever closed a log they kept
            held = _range(self._fd, fcntl.F_OFD_GETLK, fcntl.F_WRLCK, os.fstat(fd).st_ino)
        if held != fcntl.F_UNLCK:
            raise RunLockedError(
                f"run {run_id} is already being written (its log {path} is kept by another "
                "writer); only one supervisor may write a run at a time"
            )

    def keep(self, ino: int) -> bool:
        """Hold run `ino` without its log open; False if another writer holds it (or
        this system has no OFD locks)."""
        if not _OFD:
            return False
        with self._mutex:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _range(self._fd, fcntl.F_OFD_SETLK, fcntl.F_WRLCK, ino)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    return False
                raise
            return True

    def drop(self, ino: int) -> None:
        """Let go of run `ino`."""
        with self._mutex:
            if self._fd is not None:
                _range(self._fd, fcntl.F_OFD_SETLK, fcntl.F_UNLCK, ino)

    def close(self) -> None:
        """Let go of every run kept (closing the file drops its locks)."""
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


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
