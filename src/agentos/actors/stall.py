"""A run that cannot continue: its append failed (disk full, I/O error), its log is intact."""

from __future__ import annotations

import errno as errnos

from agentos.eventstore.base import StoreWriteError

#: errors that mean "no room": the disk, a quota, or a file-size limit (RLIMIT_FSIZE)
NO_SPACE = frozenset({errnos.ENOSPC, errnos.EDQUOT, errnos.EFBIG})


class RunStalledError(StoreWriteError):
    """A run stopped because an append failed; what was acknowledged is in its log.

    `code` is the errno's name (ENOSPC, EFBIG, EIO...) or "" when unknown; `reason` is
    one line. Resume the run once the disk is healthy again.
    """

    def __init__(self, run_id: str, reason: str, code: str = "") -> None:
        super().__init__(f"run {run_id} stalled: {reason}")
        self.run_id = run_id
        self.reason = reason
        self.code = code

    @property
    def no_space(self) -> bool:
        """Whether the disk (or a quota, or a file-size limit) is full."""
        return self.code in {errnos.errorcode[n] for n in NO_SPACE}


def errno_of(exc: BaseException) -> int | None:
    """The errno behind a failed write, sync or folder creation."""
    if isinstance(exc, OSError | StoreWriteError):
        return exc.errno
    return None


def stalled(run_id: str, exc: BaseException) -> RunStalledError | None:
    """The stall a failed append means, or None when `exc` is no I/O failure."""
    if isinstance(exc, StoreWriteError | OSError):
        return as_stall(run_id, exc)
    return None


def as_stall(run_id: str, exc: StoreWriteError | OSError) -> RunStalledError:
    """The stall of a failed write, sync or folder creation, with its errno's name."""
    if isinstance(exc, RunStalledError):
        return exc
    number = errno_of(exc)
    code = errnos.errorcode.get(number, "") if number is not None else ""
    what = "disk full" if number in NO_SPACE else "I/O error"
    detail = " ".join(str(exc).split()) or type(exc).__name__
    detail = detail.removeprefix(f"run {run_id}: ")
    error = RunStalledError(run_id, f"{what} ({code or 'unknown errno'}): {detail}", code)
    error.__cause__ = exc
    return error
