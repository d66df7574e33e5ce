"""A run that cannot continue: its append failed (disk full, I/O error), its log is intact."""

from __future__ import annotations

import errno as errnos

from agentos._exceptions import NO_SPACE as NO_SPACE
from agentos._exceptions import RunStalledError as RunStalledError
from agentos._exceptions import StoreWriteError


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
