"""At most `limit` run logs open at once: the least recently used idle one is closed first.

Every live run of a store keeps its `LogFile`; only `limit` of them keep a descriptor,
so 10,000 live runs fit in the default limit of 1,024 open files. A log is idle when
the sync thread has nothing of it left to make durable (`pending` is 0): what was
written to it is durable already, and closing it loses nothing. Before its descriptor
(and the flock on it) goes, the run is kept by a range lock (`_lock.RangeLocks`), so a
second writer is still refused; its next write opens it again, once checked to be the
same file at the size this store left it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import resource
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from agentos.eventstore._lock import RangeLocks
from agentos.eventstore._writer import LogFile

_NO_FDS = (errno.EMFILE, errno.ENFILE)
OPEN_WAIT = 10.0  # seconds an open waits for busy logs to go idle when none is free


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; the soft limit then."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    if hard == resource.RLIM_INFINITY or soft >= hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        return soft
    return hard


def default_limit() -> int:
    """Half the open-file limit (raised first): the rest is for reads, sockets, others."""
    return max(8, raise_open_file_limit() // 2)


class OpenLogs:
    """The open descriptors of one store's logs, in least recently used order.

    Callers hold `lock` around `use` and the write that follows it, so no log is closed
    between the two; `wait_commit(timeout)` waits for the sync thread's next group.
    """

    def __init__(self, limit: int, kept: RangeLocks, wait_commit: Callable[[float], None]) -> None:
        self.limit = max(1, limit)
        self.lock = threading.RLock()
        self.closed = 0  # logs closed to make room, for tests and benchmarks
        self._kept = kept
        self._wait_commit = wait_commit
        self._open: OrderedDict[LogFile, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def open_fd(self, path: str, flags: int) -> int:
        """`os.open`, after closing idle logs to stay under the limit (or when out of fds)."""
        deadline = time.monotonic() + OPEN_WAIT
        while True:
            with self.lock:
                while len(self._open) >= self.limit and self._close_idle():
                    pass
            try:
                return os.open(path, flags, 0o644)
            except OSError as exc:
                if exc.errno not in _NO_FDS:
                    raise
                with self.lock:
                    freed = self._close_idle()
                    busy = bool(self._open)
                if not freed:
                    if not busy or time.monotonic() > deadline:
                        raise
                    self._wait_commit(0.1)  # every open log waits for its sync

    def add(self, log: LogFile) -> None:
        """Count a log just opened, as the most recently used."""
        with self.lock:
            self._open[log] = None

    def use(self, log: LogFile) -> None:
        """Make sure `log` is open (opening it again if it was closed); mark it used."""
        with self.lock:
            if log.fd >= 0:
                self._open.move_to_end(log)
                return
            self._reopen(log)

    def remove(self, log: LogFile) -> None:
        """Close a log for good and let go of its run."""
        with self.lock:
            self._open.pop(log, None)
            if log.fd >= 0:
                os.close(log.fd)  # drops its flock
                log.fd = -1
            if log.kept:
                self._kept.drop(log.ino)
                log.kept = False

    def _close_idle(self) -> bool:
        """Close the least recently used log with nothing pending; False if none is idle."""
        for log in self._open:
            if log.pending:
                continue
            if not log.kept:
                if not self._kept.keep(log.ino):
                    continue  # cannot happen while this store holds the flock
                log.kept = True
            del self._open[log]
            os.close(log.fd)
            log.fd = -1
            self.closed += 1
            return True
        return False

    def _reopen(self, log: LogFile) -> None:
        fd = self.open_fd(log.path, os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW)
        st = os.fstat(fd)
        if st.st_ino != log.ino or st.st_size != log.size:
            os.close(fd)
            log.broken = (
                f"run {log.run_id}: its log {log.path} was replaced or changed while this "
                "store had it closed; it takes no more writes until it is opened again"
            )
            return
        # the range lock keeps the run; the flock names this process to other writers
        with contextlib.suppress(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        log.fd = fd
        self._open[log] = None
