"""Group commit: one thread writes queued batches, then fsyncs each touched file once."""

from __future__ import annotations

import concurrent.futures
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from agentos.eventstore.base import StoreWriteError


@dataclass(eq=False)
class LogFile:
    """An open run log: its descriptor, size, last seq, and whether it may still be written."""

    run_id: str
    fd: int
    size: int
    last_seq: int
    broken: str | None = None
    device: int = 0  # st_dev of the file: one syncfs covers one filesystem


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


@dataclass
class FileOps:
    """The system calls the writer uses; tests swap them to inject disk faults.

    A group that touched more than `syncfs_from` files is made durable with one syncfs
    of their filesystem instead of one fdatasync per file (Linux reports writeback
    errors through syncfs since 5.8); `syncfs=None` always syncs file by file.
    """

    write: Callable[[int, bytes], int] = os.write
    fsync: Callable[[int], None] = os.fdatasync
    truncate: Callable[[int, int], None] = os.ftruncate
    syncfs: Callable[[int], None] | None = field(default_factory=_libc_syncfs)
    syncfs_from: int = 8


@dataclass(eq=False)
class _Request:
    log: LogFile
    data: bytes
    future: concurrent.futures.Future[None] = field(default_factory=concurrent.futures.Future)


class GroupWriter:
    """Appends batches in submission order; a batch is acknowledged after its fsync."""

    def __init__(self, durable: bool = True, ops: FileOps | None = None) -> None:
        self.durable = durable
        self.ops = ops or FileOps()
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="agentos-log-writer", daemon=True)
        self._thread.start()

    def submit(self, log: LogFile, data: bytes) -> concurrent.futures.Future[None]:
        """Queue `data` for the end of `log`; the future resolves once it is durable."""
        request = _Request(log, data)
        with self._cond:
            if self._closed:
                raise StoreWriteError("the event store is closed")
            self._queue.append(request)
            self._cond.notify()
        return request.future

    def close(self) -> None:
        """Finish queued writes and stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                batch, self._queue = self._queue, []
                if not batch and self._closed:
                    return
            self._commit(batch)

    def _commit(self, batch: list[_Request]) -> None:
        written: dict[LogFile, list[_Request]] = {}
        starts: dict[LogFile, int] = {}  # each log's size before this group
        for request in batch:
            starts.setdefault(request.log, request.log.size)
            if self._write(request):
                written.setdefault(request.log, []).append(request)
        # sync every file before waking any appender: a woken event loop would hold the
        # gil while this thread waits to run the next fsync
        healthy = [log for log in written if log.broken is None]
        if self.durable and self.ops.syncfs is not None and len(healthy) > self.ops.syncfs_from:
            devices: dict[int, list[LogFile]] = {}
            for log in healthy:
                devices.setdefault(log.device, []).append(log)
            for logs in devices.values():
                self._syncfs(logs)
        else:
            for log in healthy:
                self._sync(log)
        for log, requests in written.items():
            if log.broken is None:
                for request in requests:
                    request.future.set_result(None)
                continue
            # nothing of a failed group stays: no reader may take it for committed
            self._cut(log, starts[log])
            for request in requests:
                request.future.set_exception(StoreWriteError(log.broken))

    def _cut(self, log: LogFile, size: int) -> None:
        """Truncate the log back to `size`, dropping what this group wrote to it."""
        try:
            self.ops.truncate(log.fd, size)
        except OSError as exc:
            log.broken = f"{log.broken}; its unacknowledged batch could not be cut ({exc})"
            return
        log.size = size

    def _write(self, request: _Request) -> bool:
        log = request.log
        if log.broken is not None:
            request.future.set_exception(StoreWriteError(log.broken))
            return False
        view = memoryview(request.data)
        try:
            while view:
                view = view[self.ops.write(log.fd, view) :]  # type: ignore[arg-type]
        except OSError as exc:
            log.broken = f"run {log.run_id}: write failed ({exc}); the append was not stored"
            try:
                self.ops.truncate(log.fd, log.size)  # cut the partial batch off
            except OSError:
                log.broken += "; the torn batch is cut when the run is opened again"
            request.future.set_exception(StoreWriteError(log.broken))
            return False
        log.size += len(request.data)
        return True

    def _syncfs(self, logs: list[LogFile]) -> None:
        """One syncfs for logs on one filesystem; on failure none of them is trusted."""
        assert self.ops.syncfs is not None
        try:
            self.ops.syncfs(logs[0].fd)
        except OSError as exc:
            for log in logs:
                log.broken = (
                    f"run {log.run_id}: syncfs failed ({exc}); the append was not acknowledged "
                    "and the log takes no more writes until it is opened again"
                )

    def _sync(self, log: LogFile) -> None:
        if not self.durable:
            return
        try:
            self.ops.fsync(log.fd)
        except OSError as exc:
            # never retry a failed fsync: the kernel may have dropped the dirty pages
            log.broken = (
                f"run {log.run_id}: fsync failed ({exc}); the append was not acknowledged "
                "and the log takes no more writes until it is opened again"
            )
