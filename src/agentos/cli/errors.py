"""One-line errors with exit codes: 2 for bad input, 1 for failures."""

from __future__ import annotations

import logging
from typing import IO, Any

import click
from rich.markup import escape

from agentos._exceptions import AgentOSError, InvalidInputError, RunExistsError
from agentos.actors.stall import RunStalledError
from agentos.agents.registry import UnknownAgentError
from agentos.cli.console import error_console
from agentos.eventstore.base import CorruptLogError, RunLockedError, StoreError, UnknownRunError
from agentos.graphs.validate import GraphValidationError
from agentos.state.fold import UnknownStepError

USAGE = 2
FAILURE = 1


class CliError(AgentOSError, click.ClickException):
    """An error shown as `error: message (hint)` on stderr; exit code 1."""

    exit_code = FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(f"{message} ({hint})" if hint else message)

    def show(self, file: IO[Any] | None = None) -> None:
        console = error_console()
        console.print(f"[bold red]error:[/] {escape(self.message)}", soft_wrap=True)


class CliUsageError(CliError):
    """Bad input: exit code 2."""

    exit_code = USAGE


class Interrupted(CliError):
    """The user pressed Ctrl-C: exit code 130."""

    exit_code = 130


def hush_runtime_log(debug: bool) -> None:
    """Keep the runtime's log records off stderr (unless --debug): a command reports
    what went wrong once, as its one-line error."""
    if not debug:
        logging.getLogger("agentos").addHandler(logging.NullHandler())


def usage(message: str, hint: str | None = None) -> CliError:
    """A bad-input error (exit 2)."""
    return CliUsageError(message, hint)


def failure(message: str, hint: str | None = None) -> CliError:
    """A failure (exit 1)."""
    return CliError(message, hint)


def one_line(text: str) -> str:
    """Several lines joined into one."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def explain(exc: BaseException) -> CliError:
    """The CLI error for an exception raised by the runtime."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, GraphValidationError):
        problems = "; ".join(str(p) for p in exc.problems)
        return usage(f"invalid graph: {problems}", "fix the graph and retry")
    if isinstance(exc, UnknownAgentError):
        return usage(one_line(str(exc)), "register the agent or use package.module:callable")
    if isinstance(exc, UnknownRunError):
        return usage(str(exc), "list runs with: agentos runs")
    if isinstance(exc, InvalidInputError | RunExistsError):
        return usage(one_line(str(exc)))
    if isinstance(exc, UnknownStepError):
        return usage(str(exc), "see the run's steps with: agentos events RUN_ID --summary")
    if isinstance(exc, CorruptLogError):
        return failure(f"corrupt log: {one_line(str(exc))}", "the run cannot be read")
    if isinstance(exc, RunLockedError):
        return failure(one_line(str(exc)), "wait for it to end, or follow it with --follow")
    if isinstance(exc, RunStalledError):
        fix = "free some space" if exc.no_space else "fix the disk"
        return failure(one_line(str(exc)), f"{fix}, then: agentos resume {exc.run_id}")
    if isinstance(exc, StoreError):
        return failure(f"event store: {one_line(str(exc))}")
    name = type(exc).__name__
    return failure(
        f"{name}: {one_line(str(exc)) or 'no message'}", "rerun with --debug for details"
    )
