"""Every error AgentOS raises, under one root: `except agentos.AgentOSError` catches them.

This module imports nothing from agentos, so every layer may import it. A class marked
`[module]` is defined in that module (it needs something of it) and derives from a class
here; every other class is defined here and re-exported by its package too. A second
base in parentheses is kept for callers that catch it (`except KeyError`, `except
ValueError`...). The HTTP status the API answers with, when it maps the error, follows
the arrow.

AgentOSError
 ├── StoreError                                  the event store failed
 │    ├── UnknownRunError (KeyError)             -> 404
 │    ├── ArtifactNotFoundError (KeyError)
 │    ├── ConcurrencyError                       an append whose expected_seq is stale
 │    ├── RunLockedError                         -> 409
 │    ├── CorruptLogError                        -> 409
 │    ├── EventRejectedError (ValueError)        -> 422
 │    └── StoreWriteError                        a write or fsync failed (`errno`)
 │         └── RunStalledError                   -> 507 (disk full) or 503
 ├── InvalidInputError (ValueError)              bad input from the caller -> 422
 │    ├── InvalidNameError                       a run, graph or policy name
 │    ├── UnsafePathError                        a symlink, or a path outside its root
 │    ├── PathEscapeError                        a relative path leaving its root
 │    └── PatchError                             a diff that is malformed or does not apply
 ├── RunExistsError (ValueError)                 -> 409
 ├── InvalidEventError (ValueError)              an event the fold or workspace cannot apply
 ├── EventDecodeError (ValueError)               a stored event this version cannot read
 ├── BadLineError (ValueError)                   a log line failing its checksum or framing
 ├── UnknownGraphError (KeyError)                -> 404
 ├── UnknownAgentError (LookupError)
 ├── UnknownStepError (LookupError)              -> 422 (a replay step the run lacks)
 ├── GraphValidationError [graphs.problems]      -> 422, every problem listed
 ├── AgentNotAllowedError (PermissionError)      -> 403
 ├── RoutingError                                no model could serve a node
 │    ├── NoModelFitsError
 │    ├── UnconfiguredModelError                 a replay's recorded model is not in the pool
 │    └── AllProvidersFailedError [routing.router]
 ├── ProviderError                               a retryable failure of one provider
 │    └── StreamCutError                         a streamed answer broke off
 ├── NoModelError (RuntimeError)                 a node without a context profile
 ├── BudgetExceededError (RuntimeError)
 ├── RunEndedError (RuntimeError)
 ├── AgentExitError                              agent code raised a BaseException
 ├── DemoAgentError (RuntimeError) [demo._agent]
 └── CliError (click.ClickException) [cli.errors]
      ├── CliUsageError                          exit code 2
      └── Interrupted                            exit code 130

Any other exception (a ValueError from a bug included) is a bug: the API answers 500.
"""

from __future__ import annotations

import errno as errnos
from pathlib import Path

#: errors that mean "no room": the disk, a quota, or a file-size limit (RLIMIT_FSIZE)
NO_SPACE = frozenset({errnos.ENOSPC, errnos.EDQUOT, errnos.EFBIG})


class AgentOSError(Exception):
    """The root of every error AgentOS raises."""


# the event store


class StoreError(AgentOSError):
    """Base class of event store errors."""


class UnknownRunError(StoreError, KeyError):
    """The run has no log in this store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown run"


class ArtifactNotFoundError(StoreError, KeyError):
    """The run has no artifact of that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "artifact not found"


class ConcurrencyError(StoreError):
    """An append whose expected_seq is not the run's last seq; nothing was written."""


class RunLockedError(StoreError):
    """Another writer (process or store) holds the run's log."""


class CorruptLogError(StoreError):
    """A log line that fails its checksum, decoding, order or run id before the end of
    the log; `path` and `line` say where, when known."""

    def __init__(
        self, reason: str, path: Path | str | None = None, line: int | None = None
    ) -> None:
        self.reason = reason
        self.path = Path(path) if path is not None else None
        self.line = line
        super().__init__(self._where(self.path) + reason)

    def _where(self, path: Path | str | None) -> str:
        where = f"{path}: " if path is not None else ""
        return where + (f"line {self.line}: " if self.line is not None else "")

    def describe(self, root: Path) -> str:
        """The error with its file named relative to `root` when it lies inside it."""
        path: Path | str | None = self.path
        if self.path is not None and self.path.is_relative_to(root):
            path = self.path.relative_to(root).as_posix()
        return self._where(path) + self.reason


class EventRejectedError(StoreError, ValueError):
    """An event the log's reader would refuse (e.g. a non-finite number), or one that
    does not continue the run's log (another run's, a seq out of order); nothing was
    written."""


class StoreWriteError(StoreError):
    """The write or fsync of an append failed; the append was not acknowledged.

    `errno` is the failed system call's error number (ENOSPC, EIO...), None when the
    failure was no system call's.
    """

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


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


# bad input


class InvalidInputError(AgentOSError, ValueError):
    """Input from the caller that AgentOS refuses; nothing was changed."""


class InvalidNameError(InvalidInputError):
    """A name (run id, graph, policy, artifact) that is not safe as one path component."""


class UnsafePathError(InvalidInputError):
    """A path that is, or passes through, a symlink, or leads outside its root."""


class PathEscapeError(InvalidInputError):
    """A relative path that is malformed or would leave its root directory."""


class PatchError(InvalidInputError):
    """A patch that is malformed or does not apply."""


class RunExistsError(AgentOSError, ValueError):
    """A run was asked for by an id that is already taken; nothing was written."""


# events


class InvalidEventError(AgentOSError, ValueError):
    """An event the fold or the workspace rebuild cannot apply: no rule for its type, a
    seq out of order, a file write without content or with another digest."""


class EventDecodeError(AgentOSError, ValueError):
    """A stored event that this version of agentos cannot read."""


class BadLineError(AgentOSError, ValueError):
    """A line that fails its checksum or framing with committed data after it."""

    def __init__(self, lineno: int, reason: str) -> None:
        super().__init__(f"line {lineno}: {reason}")
        self.lineno = lineno
        self.reason = reason


# things looked up by name


class UnknownGraphError(AgentOSError, KeyError):
    """No graph of that name is registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown graph"


class UnknownAgentError(AgentOSError, LookupError):
    """An agent reference is neither registered nor an importable callable."""


class UnknownStepError(AgentOSError, LookupError):
    """A step (node name or seq) that the run does not have."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown step"


class AgentNotAllowedError(AgentOSError, PermissionError):
    """An HTTP client named an agent the server does not allow."""


# models and agents


class RoutingError(AgentOSError):
    """No model could serve a node attempt."""


class NoModelFitsError(RoutingError):
    """No model in the pool meets the tier range and holds the tokens needed."""

    def __init__(self, tokens_needed: int, largest_window: int | None, tier: str) -> None:
        self.tokens_needed = tokens_needed
        self.largest_window = largest_window
        self.tier = tier
        if largest_window is None:
            detail = f"no model in the pool has {tier}"
        else:
            detail = f"the largest context window with {tier} is {largest_window:,} tokens"
        super().__init__(f"no model fits {tokens_needed:,} tokens: {detail}")


class ProviderError(AgentOSError):
    """A failure of one provider. `retryable`: another candidate may answer; a refusal
    (a 4xx other than 429) is not. `retry_after`: seconds after which this provider may
    be tried again (a 429's Retry-After), None when it should not be."""

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class NoModelError(AgentOSError, RuntimeError):
    """The node has no model: give it a context profile to get one."""


class BudgetExceededError(AgentOSError, RuntimeError):
    """The run crossed its token or cost ceiling and its policy is to fail."""


class RunEndedError(AgentOSError, RuntimeError):
    """The run ended while an agent was still working for it."""


class AgentExitError(AgentOSError):
    """Agent code raised SystemExit, KeyboardInterrupt or another BaseException."""

    def __init__(self, raised: BaseException) -> None:
        super().__init__(str(raised))
        self.raised = raised


class UnconfiguredModelError(RoutingError):
    """A replay needs a provider or model the pool no longer has."""


class StreamCutError(ProviderError):
    """A streamed answer ended or broke before it was whole (retryable)."""
