"""The JSONL event store, the embedded default: `{root}/{run_id}/events.jsonl`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiofiles
import orjson

from agentos._exceptions import UnsafePathError
from agentos._files import make_dirs, write_atomic
from agentos._names import safe_name
from agentos.events.codec import EventDecodeError, decode
from agentos.events.model import Envelope
from agentos.eventstore._delete import remove_run
from agentos.eventstore._framing import BadLineError, frame_encoded, scan
from agentos.eventstore._lock import RangeLocks, is_held, lock_log
from agentos.eventstore._open_logs import OpenLogs, default_limit
from agentos.eventstore._reader import ReadMark, nearest_mark, read_log
from agentos.eventstore._spares import SpareFolders
from agentos.eventstore._writer import FileOps, GroupWriter, LogFile, rename_new
from agentos.eventstore.base import (
    ArtifactNotFoundError,
    CorruptLogError,
    EventStore,
    RunLockedError,
    StoreWriteError,
    UnknownRunError,
    check_batch,
    check_events,
)

log = logging.getLogger(__name__)

EVENTS_FILE = "events.jsonl"


def default_root() -> Path:
    """The data root: `AGENTOS_DATA_DIR`, else ./data."""
    return Path(os.environ.get("AGENTOS_DATA_DIR", "data"))


def default_durable() -> bool:
    """Whether appends fsync: yes unless `AGENTOS_FSYNC=0`."""
    return os.environ.get("AGENTOS_FSYNC", "1") not in ("0", "false", "no")


class JsonlEventStore(EventStore):
    """One JSONL log per run; appends are written and made durable in groups.

    `durable=False` skips fsync (for tests and benchmarks; an append is then acknowledged
    once written to the OS, and a machine crash may lose it). At most `max_open_logs`
    logs stay open (default: half the open-file limit, which is first raised to the
    hard limit); the idle ones beyond are closed and opened again when written.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        durable: bool | None = None,
        ops: FileOps | None = None,
        spares: int = 128,
        max_open_logs: int | None = None,
    ) -> None:
        super().__init__()
        self.root = Path(root) if root is not None else default_root()
        self.durable = default_durable() if durable is None else durable
        # new runs' folders made ahead of time by a thread (see _spares.py), at most
        # `spares`: enough for bursts of 100 runs at once (docs/performance.md); 0: inline
        self.spares = SpareFolders(self.root, spares, self.durable) if spares > 0 else None
        self.recovered: list[str] = []  # warnings about torn tails cut on open
        self._writer = GroupWriter(self.durable, ops, self._committed)
        self._kept = RangeLocks(self.root)
        limit = default_limit() if max_open_logs is None else max_open_logs
        self.open_logs = OpenLogs(limit, self._kept, self._writer.wait_commit)
        self._open_lock = threading.Lock()
        self._lock = self.open_logs.lock  # also keeps a log open from `use` to its write
        self._logs: dict[str, LogFile] = {}
        self._read_marks: dict[Path, ReadMark] = {}
        self._mark_index: dict[Path, list[ReadMark]] = {}  # sparse marks of each log read

    def run_dir(self, run_id: str) -> Path:
        """The folder of a run."""
        return self.root / safe_name(run_id, "run id")

    def _writable_dir(self, run_id: str) -> Path:
        """The run's folder, to write in: never through a symlink, which may lead outside."""
        run_dir = self.run_dir(run_id)
        for path in (run_dir, run_dir / EVENTS_FILE):
            if path.is_symlink():
                raise UnsafePathError(f"refusing to write run {run_id}: {path} is a symlink")
        return run_dir

    def commit_stats(self) -> tuple[int, int] | None:
        return (self._writer.commits, self._writer.batches) if self.durable else None

    def log_path(self, run_id: str) -> Path:
        """The events file of a run."""
        return self.run_dir(run_id) / EVENTS_FILE

    # writing

    async def append(self, run_id: str, events: Sequence[Envelope], expected_seq: int) -> int:
        if run_id not in self._logs and not await self.exists(run_id):
            # refuse a bad first batch before creating an empty log for it
            check_batch(run_id, events, expected_seq, 0)
            if not events:
                return 0
        return await super().append(run_id, events, expected_seq)

    async def prepare(self, run_id: str) -> None:
        if run_id not in self._logs:
            await asyncio.to_thread(self._open_for_write, run_id)

    def submit(
        self, run_id: str, events: Sequence[Envelope], expected_seq: int
    ) -> concurrent.futures.Future[int]:
        # an open log's id was checked when it was opened
        logfile = self._logs.get(run_id)
        checked = None
        if logfile is None:
            checked = check_events(run_id, events)  # a refused first batch creates no log
            logfile = self._open_for_write(run_id)
        with self._lock:
            if logfile.broken is not None:
                raise StoreWriteError(logfile.broken, logfile.errno)
            raws = check_batch(run_id, events, expected_seq, logfile.last_seq, checked)
            if not events:
                done: concurrent.futures.Future[int] = concurrent.futures.Future()
                done.set_result(logfile.last_seq)
                return done
            self.open_logs.use(logfile)  # opened again if it was closed to free a descriptor
            if logfile.broken is not None:
                raise StoreWriteError(logfile.broken, logfile.errno)
            logfile.last_seq = events[-1].seq
            written = self._writer.submit(logfile, frame_encoded(raws), logfile.last_seq)
        if self._subscribers:  # wake followers of this run once the batch is durable

            def wake(f: concurrent.futures.Future[int]) -> None:
                if f.exception() is None:
                    self._notify(run_id)

            written.add_done_callback(wake)
        return written

    def _open_for_write(self, run_id: str) -> LogFile:
        with self._open_lock:
            logfile = self._logs.get(run_id)
            if logfile is None:
                logfile = self._create(run_id) or self._open_existing(run_id)
                self.open_logs.add(logfile)
                self._logs[run_id] = logfile
            return logfile

    def _create(self, run_id: str) -> LogFile | None:
        """A new run's log, in a folder made for it now; None if the folder exists.

        The hot path of every new run: a rename of a spare folder (else a mkdir) and an
        open, no read, no fsync (the first commit makes the new names durable). Nothing
        can be a symlink inside a folder made or taken now, and the log is opened with
        O_NOFOLLOW anyway.
        """
        run_dir = os.path.join(self.root, safe_name(run_id, "run id"))
        if not self._place_spare(run_dir):
            try:
                os.mkdir(run_dir)
            except FileExistsError:
                return None
            except FileNotFoundError:  # the first run under a new root
                make_dirs(self.root, self.durable)
                return self._create(run_id)
        path = os.path.join(run_dir, EVENTS_FILE)
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
        try:
            fd = self.open_logs.open_fd(path, flags)
            try:
                lock_log(fd, run_id, path)
                self._kept.check(fd, run_id, path)
                st = os.fstat(fd)
            except BaseException:
                os.close(fd)
                raise
        except RunLockedError:
            raise  # another writer took the new folder's log first: it is theirs
        except BaseException:
            _remove_new_folder(run_dir)  # a run that cannot start leaves nothing behind
            raise
        dirs = (run_dir, str(self.root))
        return LogFile(run_id, fd, 0, 0, device=st.st_dev, dirs=dirs, path=path, ino=st.st_ino)

    def _place_spare(self, run_dir: str) -> bool:
        """Rename a spare folder to `run_dir`; False if none is ready or that name is taken.

        One renameat2 with RENAME_NOREPLACE, which refuses a name that exists. Where
        that is missing, a check and a rename: rename() would replace an empty folder
        made between the two; then whichever writer opens the log first holds its lock,
        and the other one is refused, as with two mkdirs. A spare that fails to move is
        dropped, and the caller makes the folder itself (and meets the real error, if
        there is one)."""
        if self.spares is None:
            return False
        spare = self.spares.take()
        if spare is None:
            return False
        try:
            moved = rename_new(spare, run_dir)
        except OSError:
            self.spares.discard(spare)
            return False
        if not moved:
            self.spares.give_back(spare)  # the name is taken
        return moved

    def _open_existing(self, run_id: str) -> LogFile:
        """The log of a run folder that exists: locked, checked, its torn tail cut."""
        path = self._writable_dir(run_id) / EVENTS_FILE
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
        fd = self.open_logs.open_fd(str(path), flags)
        try:
            lock_log(fd, run_id, path)
            self._kept.check(fd, run_id, path)
            data = _read_fd(fd)
            try:
                found = scan(data)
            except BadLineError as exc:
                reason = f"{exc.reason}; the log is corrupt before its end"
                raise CorruptLogError(reason, path, exc.lineno) from None
            last = 0
            if found.last_line is not None:
                lineno = data.count(b"\n", 0, found.good_end)
                try:
                    last_event = decode(found.last_line)
                except EventDecodeError as exc:
                    raise CorruptLogError(str(exc), path, lineno) from None
                if last_event.run_id != run_id:  # a log copied from another run
                    reason = f"an event of run {last_event.run_id!r} in the log of run {run_id!r}"
                    raise CorruptLogError(reason, path, lineno)
                last = last_event.seq
            if found.tail:  # only once the log is known good: a refused log stays as it was
                self._cut_tail(path, fd, found.good_end, found.tail)
            st = os.fstat(fd)
            # an empty log may be new (its folder made by an artifact): its name and its
            # folder's are made durable by its first commit
            dirs = (str(path.parent), str(self.root)) if found.good_end == 0 else ()
            return LogFile(
                run_id,
                fd,
                found.good_end,
                last,
                device=st.st_dev,
                dirs=dirs,
                path=str(path),
                ino=st.st_ino,
            )
        except BaseException:
            os.close(fd)
            raise

    def _cut_tail(self, path: Path, fd: int, good_end: int, tail: bytes) -> None:
        broken = path.with_name(path.name + ".broken")
        with open(broken, "ab") as side:
            side.write(tail)
            side.flush()
            os.fsync(side.fileno())
        os.ftruncate(fd, good_end)
        os.fsync(fd)
        message = (
            f"{path}: cut a torn tail of {len(tail)} bytes after byte {good_end} "
            f"(kept in {broken.name})"
        )
        self.recovered.append(message)
        log.warning(message)

    async def has_writer(self, run_id: str) -> bool:
        if run_id in self._logs:
            return True
        return await asyncio.to_thread(is_held, self.log_path(run_id))

    async def release(self, run_id: str) -> None:
        with self._open_lock:
            logfile = self._logs.pop(run_id, None)
        if logfile is None:
            return
        if logfile.pending:  # the sync thread still writes to its descriptor
            await asyncio.to_thread(self._writer.wait_done, logfile)
        if logfile.dirs and logfile.size == 0:
            # made by this store, and its first append never committed: a run that could
            # not start leaves no folder (unless something else was put in it)
            _remove_new_folder(os.path.dirname(logfile.path))
        self.open_logs.remove(logfile)  # drops its locks

    async def close(self) -> None:
        await asyncio.to_thread(self._close_threads)
        for run_id in list(self._logs):
            await self.release(run_id)
        self._kept.close()

    def _close_threads(self) -> None:
        self._writer.close()
        if self.spares is not None:
            self.spares.close()

    # reading

    async def read(
        self, run_id: str, after_seq: int = 0, upto_seq: int | None = None
    ) -> AsyncIterator[Envelope]:
        path = self.log_path(run_id)
        if not await asyncio.to_thread(path.exists):
            raise UnknownRunError(f"unknown run {run_id!r}: no log at {path}")
        # a follower reads the same log again and again: start after what it already saw
        # and a read of an earlier step starts at the nearest mark before it
        index = self._mark_index.setdefault(path, [])
        mark = nearest_mark(self._read_marks.get(path), index, after_seq)
        marks = self._read_marks
        async for event in read_log(path, after_seq, upto_seq, mark, marks, run_id, index):
            yield event

    async def last_seq(self, run_id: str) -> int:
        logfile = self._logs.get(run_id)
        if logfile is not None:
            return logfile.last_seq
        if not await self.exists(run_id):
            return 0
        last = 0
        async for event in self.read(run_id):
            last = event.seq
        return last

    async def exists(self, run_id: str) -> bool:
        return await asyncio.to_thread(self.log_path(run_id).exists)

    async def delete_run(self, run_id: str) -> None:
        if run_id in self._logs:
            raise RunLockedError(f"run {run_id} is being written by this store")
        path = self.log_path(run_id)
        await asyncio.to_thread(remove_run, path, run_id, self._kept, self.durable)
        self._read_marks.pop(path, None)
        self._mark_index.pop(path, None)

    async def list_runs(self) -> list[str]:
        def listing() -> list[str]:
            if not self.root.is_dir():
                return []
            # dot-names are never run ids: spare folders, the catalog
            return sorted(p.parent.name for p in self.root.glob(f"[!.]*/{EVENTS_FILE}"))

        return await asyncio.to_thread(listing)

    # artifacts

    def artifact_path(self, run_id: str, name: str) -> Path:
        """Where an artifact of a run is stored."""
        return self.run_dir(run_id) / f"{safe_name(name, 'artifact name')}.json"

    async def put_artifact(self, run_id: str, name: str, doc: Any) -> None:
        path = self.artifact_path(run_id, name)
        await asyncio.to_thread(self._writable_dir, run_id)
        data = orjson.dumps(doc)
        await asyncio.to_thread(write_atomic, path, data, self.durable)

    async def get_artifact(self, run_id: str, name: str) -> Any:
        path = self.artifact_path(run_id, name)
        try:
            async with aiofiles.open(path, "rb") as f:
                data = await f.read()
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"run {run_id!r} has no artifact {name!r}") from None
        return orjson.loads(data)


def _remove_new_folder(run_dir: str) -> None:
    """Remove a run folder made (or renamed from a spare) just now, with its empty log."""
    log_path = os.path.join(run_dir, EVENTS_FILE)
    with contextlib.suppress(OSError):
        if os.stat(log_path).st_size == 0:
            os.unlink(log_path)
    with contextlib.suppress(OSError):
        os.rmdir(run_dir)


def _read_fd(fd: int) -> bytes:
    chunks = []
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)
