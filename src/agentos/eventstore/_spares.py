"""Run folders made ahead of time, so that a new run's first append only renames one.

Creating a folder and a file allocates two inodes; on ext4 that takes 50 µs on a good
day and 1-2 ms when the inode tables are busy, and a new run's first append used to pay
it on the event loop. A background thread keeps a few spare folders, each with an empty
`events.jsonl`, in the data root under a dot-name (never a run id). Taking one is a
`rename` (no inode allocated) and an `open` of the existing log.

A spare's name carries its process id: spares of a process that is gone are removed by
the next store that starts making spares in that root.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections import deque
from pathlib import Path

from agentos._files import make_dirs

PREFIX = ".spare-"
LOG = "events.jsonl"


class SpareFolders:
    """Keeps spare run folders under `root`, refilled by one thread: `target` of them,
    which starts at 8 (a store that starts one run makes few) and doubles, up to
    `size`, each time a new run finds none ready (bursts of runs make it grow)."""

    def __init__(self, root: Path, size: int, durable: bool) -> None:
        self.root = root
        self.size = size
        self.target = min(8, size)
        self.durable = durable
        self.made = 0  # spares made, for tests and benchmarks
        self._ready: deque[str] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._tag = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}-"
        self._thread: threading.Thread | None = None

    def take(self) -> str | None:
        """The path of a spare folder, now this caller's to rename; None if none is ready.

        The first call starts the thread: a store that never creates a run makes none."""
        if self._thread is None:
            self._start()
        try:
            path = self._ready.popleft()
        except IndexError:
            path = None
            self.target = min(self.target * 2, self.size)
        if len(self._ready) < self.target:  # the thread refills up to the target
            with self._wake:
                self._wake.notify()
        return path

    @property
    def ready(self) -> int:
        """Spare folders ready to be taken now."""
        return len(self._ready)

    def give_back(self, path: str) -> None:
        """Return a spare that was taken but not used."""
        self._ready.appendleft(path)

    def discard(self, path: str) -> None:
        """Remove a spare that was taken and could not be used (best effort)."""
        _remove(path)

    def close(self) -> None:
        """Stop the thread and remove the spares nobody took."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        while self._ready:
            _remove(self._ready.popleft())

    def _start(self) -> None:
        with self._wake:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._fill, name="agentos-spare-folders", daemon=True
                )
                self._thread.start()

    def _fill(self) -> None:
        try:
            make_dirs(self.root, self.durable)
            sweep(self.root)
        except OSError:
            return  # the root is unusable: appends make their folders inline, and say why
        while True:
            with self._wake:
                while not self._closed and len(self._ready) >= self.target:
                    self._wake.wait()
                if self._closed:
                    return
            try:
                self._ready.append(self._make())
            except OSError:
                return  # a full disk or a lost root: the inline path reports it

    def _make(self) -> str:
        path = os.path.join(self.root, f"{self._tag}{self.made}")
        os.mkdir(path)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
            os.close(os.open(os.path.join(path, LOG), flags, 0o644))
        except OSError:
            _remove(path)  # no half-made spare left behind
            raise
        self.made += 1
        return path


def sweep(root: Path) -> list[str]:
    """Remove the spares of processes that are gone; the paths removed."""
    removed = []
    for name in os.listdir(root):
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        path = os.path.join(root, name)
        _remove(path)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(path, LOG))
    with contextlib.suppress(OSError):
        os.rmdir(path)
