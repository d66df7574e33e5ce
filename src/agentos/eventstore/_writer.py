"""Group commit: one thread writes the batches queued meanwhile and makes them durable."""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from errno import EEXIST, EINVAL

from agentos.eventstore.base import StoreWriteError


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


#: why a batch failed: the log's message and errno; None when it committed
_Failure = tuple[str, int | None] | None


@dataclass(eq=False)
class LogFile:
    """An open run log: its descriptor, size, last seq, and whether it may still be written."""

    run_id: str
    fd: int
    size: int
    last_seq: int
    broken: str | None = None
    errno: int | None = None  # the errno of the call that broke it
    device: int = 0  # st_dev of the file: one syncfs covers one filesystem
    dirs: tuple[str, ...] = ()  # folders whose new entries the first commit makes durable
    path: str = ""  # where it is opened again after being closed to free a descriptor
    ino: int = 0  # its inode: the key of the range lock that keeps it while closed
    kept: bool = False  # whether a range lock keeps the run (see _lock.RangeLocks)
    pending: int = 0  # batches written and not yet made durable: `fd` stays open till 0


def _libc_syncfs() -> Callable[[int], None] | None:
    """syncfs(2): flush every dirty page of one filesystem; None where libc lacks it."""
    name = ctypes.util.find_library("c")
    fn = getattr(ctypes.CDLL(name, use_errno=True), "syncfs", None) if name else None
    if fn is None:
        return None

    def syncfs(fd: int) -> None:
        if fn(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))

    return syncfs


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _libc_rename_noreplace() -> Callable[[str, str], bool] | None:
    """renameat2(2) with RENAME_NOREPLACE: True once moved, False if `dst` exists.

    None where libc lacks it. Raises OSError on other errors (EINVAL: the filesystem
    cannot do it; the caller then falls back to a check and a rename)."""
    name = ctypes.util.find_library("c")
    fn = getattr(ctypes.CDLL(name, use_errno=True), "renameat2", None) if name else None
    if fn is None:
        return None

    def rename_noreplace(src: str, dst: str) -> bool:
        if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return True
        errno = ctypes.get_errno()
        if errno == EEXIST:
            return False
        raise OSError(errno, os.strerror(errno), dst)

    return rename_noreplace


_rename_noreplace = _libc_rename_noreplace()


def rename_new(src: str, dst: str) -> bool:
    """Rename `src` to `dst` unless that name exists; False if it does.

    One system call where renameat2 works, else a check and a rename (which replaces
    an empty folder made between the two)."""
    if _rename_noreplace is not None:
        try:
            return _rename_noreplace(src, dst)
        except OSError as exc:
            if exc.errno != EINVAL:  # this filesystem cannot: check, then rename
                raise
    if os.path.lexists(dst):
        return False
    os.rename(src, dst)
    return True


@dataclass
class FileOps:
    """The system calls the writer uses; tests swap them to inject disk faults.

    A group that touched more than `syncfs_from` files, or a new log (whose folders
    must be synced too), is made durable with one syncfs of the filesystem instead of
    one fdatasync per file and folder (Linux reports writeback errors through syncfs
    since 5.8); `syncfs=None` always syncs file by file.
    """

    write: Callable[[int, bytes], int] = os.write
    fsync: Callable[[int], None] = os.fdatasync
    truncate: Callable[[int, int], None] = os.ftruncate
    syncfs: Callable[[int], None] | None = field(default_factory=_libc_syncfs)
    syncfs_from: int = 2  # an fdatasync per file is one journal commit each on ext4


@dataclass(eq=False)
class _Written:
    """A batch on its way to disk: its framed lines, what it acknowledges."""

    log: LogFile
    data: bytes
    last_seq: int
    future: concurrent.futures.Future[int]
    loop: asyncio.AbstractEventLoop | None  # where it was submitted: resolved there


class GroupWriter:
    """Writes batches in order; acknowledges each once it is durable.

    With `durable`, one thread writes whatever was submitted meanwhile (a `write` to
    the page cache costs ~10 µs here, off the appender's thread and the GIL while in
    the kernel) and makes it durable with one fsync per file, or one syncfs. Then the
    futures are resolved on the event loop each was submitted from (one hand-over per
    loop and group), or by that thread for appends made off any loop. Only that thread
    writes and cuts a durable store's logs. Without `durable` the appender's thread
    writes and nothing waits.
    """

    def __init__(
        self,
        durable: bool = True,
        ops: FileOps | None = None,
        committed: Callable[[], None] = lambda: None,
    ) -> None:
        self.durable = durable
        self.ops = ops or FileOps()
        self._committed = committed  # called after each group's futures are resolved
        self._cond = threading.Condition()  # guards writes, cuts and the queue
        self._queue: list[_Written] = []
        self._commits = 0  # groups done, for `wait_commit`
        self.batches = 0  # batches in them
        self._closed = False
        self._thread: threading.Thread | None = None
        if durable:
            self._thread = threading.Thread(target=self._loop, name="agentos-log-sync", daemon=True)
            self._thread.start()

    def submit(self, log: LogFile, data: bytes, last_seq: int) -> concurrent.futures.Future[int]:
        """Write `data` at the end of `log`; the future gives `last_seq` once it is durable."""
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        # a written batch cannot be taken back: cancelling the caller's wait (which
        # cancels this future through `wrap_future`) must leave it to be resolved
        future.set_running_or_notify_cancel()
        with self._cond:
            if self._closed:
                raise StoreWriteError("the event store is closed")
            if log.broken is None and self.durable:
                log.pending += 1
                self._queue.append(_Written(log, data, last_seq, future, _running_loop()))
                self._cond.notify()
                return future
            written = log.broken is None and self._write(log, data)
        # resolved outside the lock: done-callbacks may append again
        if written:
            future.set_result(last_seq)
        else:
            future.set_exception(StoreWriteError(str(log.broken), log.errno))
        return future

    @property
    def commits(self) -> int:
        """Groups made durable so far."""
        return self._commits

    def wait_commit(self, timeout: float) -> None:
        """Wait until the sync thread has finished one more group, or `timeout` passed."""
        with self._cond:
            seen = self._commits
            self._cond.wait_for(lambda: self._commits != seen or self._closed, timeout)

    def wait_done(self, log: LogFile) -> None:
        """Wait until no batch of `log` is queued or being synced (its `fd` is free)."""
        with self._cond:
            self._cond.wait_for(lambda: log.pending == 0 or self._thread is None)

    def close(self) -> None:
        """Make what was written durable and stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                group, self._queue = self._queue, []
                if not group and self._closed:
                    return
            self._commit(group)

    def _commit(self, group: list[_Written]) -> None:
        starts: dict[LogFile, int] = {}  # each log's size before this group
        for item in group:
            starts.setdefault(item.log, item.log.size)
            if item.log.broken is None:
                self._write(item.log, item.data)
        healthy = [log for log in starts if log.broken is None]
        # a new log needs its folders synced too: one syncfs instead of three fsyncs
        wide = len(healthy) > self.ops.syncfs_from or any(log.dirs for log in healthy)
        if self.ops.syncfs is not None and wide:
            devices: dict[int, list[LogFile]] = {}
            for log in healthy:
                devices.setdefault(log.device, []).append(log)
            for logs in devices.values():
                self._syncfs(logs)  # covers the folders' entries too
        else:
            for log in healthy:
                self._sync(log)
            self._sync_dirs([log for log in healthy if log.dirs and log.broken is None])
        failed = [item for item in group if item.log.broken is not None]
        if failed:
            # nothing of a failed group stays: no reader may take it for committed
            with self._cond:
                for log in {item.log for item in failed}:
                    self._cut(log, starts[log])
        with self._cond:  # done with their descriptors: idle logs may be closed now
            for item in group:
                item.log.pending -= 1
            self._commits += 1
            self.batches += len(group)
            self._cond.notify_all()
        # each outcome is decided now: a later group's failure must not touch this one
        by_loop: dict[asyncio.AbstractEventLoop | None, list[tuple[_Written, _Failure]]] = {}
        for item in group:
            log = item.log
            failure = None if log.broken is None else (log.broken, log.errno)
            by_loop.setdefault(item.loop, []).append((item, failure))
        for loop, items in by_loop.items():
            if loop is not None:
                try:
                    loop.call_soon_threadsafe(self._resolve, items)
                    continue
                except RuntimeError:  # that loop is closed: resolve here
                    pass
            self._resolve(items)

    def _resolve(self, items: list[tuple[_Written, _Failure]]) -> None:
        """Resolve the futures of a committed group, then call the commit hook once."""
        for item, failure in items:
            if failure is None:
                item.future.set_result(item.last_seq)
            else:
                item.future.set_exception(StoreWriteError(*failure))
        self._committed()

    def _cut(self, log: LogFile, size: int) -> None:
        """Truncate the log back to `size`, dropping what this group wrote to it."""
        if log.size <= size:
            return
        try:
            self.ops.truncate(log.fd, size)
        except OSError as exc:
            log.broken = f"{log.broken}; its unacknowledged batch could not be cut ({exc})"
            return
        log.size = size

    def _write(self, log: LogFile, data: bytes) -> bool:
        view = memoryview(data)
        try:
            while view:
                view = view[self.ops.write(log.fd, view) :]  # type: ignore[arg-type]
        except OSError as exc:
            log.broken = f"run {log.run_id}: write failed ({exc}); the append was not stored"
            log.errno = exc.errno
            try:
                self.ops.truncate(log.fd, log.size)  # cut the partial batch off
            except OSError:
                log.broken += "; the torn batch is cut when the run is opened again"
            return False
        log.size += len(data)
        return True

    def _syncfs(self, logs: list[LogFile]) -> None:
        """One syncfs for logs on one filesystem; on failure none of them is trusted."""
        assert self.ops.syncfs is not None
        try:
            self.ops.syncfs(logs[0].fd)
        except OSError as exc:
            for log in logs:
                log.errno = exc.errno
                log.broken = (
                    f"run {log.run_id}: syncfs failed ({exc}); the append was not acknowledged "
                    "and the log takes no more writes until it is opened again"
                )
            return
        for log in logs:
            log.dirs = ()  # the filesystem's metadata went with it

    def _sync_dirs(self, logs: list[LogFile]) -> None:
        """Make new logs' folder entries durable, each folder once for the whole group."""
        users: dict[str, list[LogFile]] = {}
        for log in logs:
            for path in log.dirs:
                users.setdefault(path, []).append(log)
        for path, waiting in users.items():
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    self.ops.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                for log in waiting:
                    log.errno = exc.errno
                    log.broken = (
                        f"run {log.run_id}: fsync failed on its folder {path} ({exc}); the "
                        "append was not acknowledged and the log takes no more writes until it "
                        "is opened again"
                    )
        for log in logs:
            if log.broken is None:
                log.dirs = ()

    def _sync(self, log: LogFile) -> None:
        try:
            self.ops.fsync(log.fd)
        except OSError as exc:
            # never retry a failed fsync: the kernel may have dropped the dirty pages
            log.errno = exc.errno
            log.broken = (
                f"run {log.run_id}: fsync failed ({exc}); the append was not acknowledged "
                "and the log takes no more writes until it is opened again"
            )
