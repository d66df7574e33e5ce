"""The `agentos` click group: global options, error handling, the commands."""

from __future__ import annotations

import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from agentos.cli.cancel import cancel_command
from agentos.cli.console import error_console
from agentos.cli.demo import demo_command
from agentos.cli.diff import diff_command
from agentos.cli.errors import CliError, explain, usage
from agentos.cli.events import events_command
from agentos.cli.graphs import graphs_command
from agentos.cli.replay import replay_command
from agentos.cli.resume import resume_command
from agentos.cli.run import run_command
from agentos.cli.runs import runs_command
from agentos.cli.serve import serve_command
from agentos.cli.settings import Settings
from agentos.cli.signal import signal_command
from agentos.cli.worker import worker_command
from agentos.eventstore import is_store_url
from agentos.eventstore.jsonl import default_root


class AgentosGroup(click.Group):
    """A group that turns runtime exceptions into one-line errors (tracebacks with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            if exc.__cause__ is not None:
                _debug(ctx, exc.__cause__)
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            _debug(ctx, exc)
            raise explain(exc) from exc


def _debug(ctx: click.Context, exc: BaseException) -> None:
    """With --debug, print the traceback of the exception behind an error."""
    settings = ctx.find_object(Settings)
    if settings is not None and settings.debug:
        text = "".join(traceback.format_exception(exc))
        error_console().print(text.rstrip(), markup=False)


@click.group(cls=AgentosGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="The data dir holding the runs (default: $AGENTOS_DATA_DIR, else ./data).",
)
@click.option(
    "--store",
    "store",
    envvar="AGENTOS_STORE",
    metavar="URL",
    help="Keep runs in PostgreSQL at this postgresql:// URL instead of the data dir "
    "(default: $AGENTOS_STORE).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="agentos", prog_name="agentos")
@click.pass_context
def cli(ctx: click.Context, data: Path | None, store: str | None, debug: bool) -> None:
    """AgentOS: run multi-agent graphs from their event logs, inspect and replay them.

    Exit codes: 0 success, 1 failure (a failed run, a corrupt log), 2 bad input.
    """
    if store and not is_store_url(store):
        raise usage(f"--store {store!r} is not a postgresql:// URL", "pass --data DIR for files")
    root = data if data is not None else default_root()
    ctx.obj = Settings(data=root, debug=debug, store=store or None)


def _store_after(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """`--store URL` given after the command: replaces the group's setting."""
    if value is None:
        return
    if not is_store_url(value):
        hint = "pass --data DIR (before the command) for files"
        raise usage(f"--store {value!r} is not a postgresql:// URL", hint)
    settings = ctx.find_object(Settings) or Settings(default_root())
    ctx.obj = replace(settings, store=value)


def _store_option(command: click.Command) -> click.Command:
    """Let `--store` follow the command too (`agentos worker --store URL`). `--data` goes
    before the command only: `agentos signal` has a `--data` of its own."""
    command.params.append(
        click.Option(
            ["--store"],
            metavar="URL",
            expose_value=False,
            callback=_store_after,
            help="Keep runs in PostgreSQL at this postgresql:// URL (as before the command).",
        )
    )
    return command


for command in (
    run_command,
    runs_command,
    graphs_command,
    events_command,
    diff_command,
    replay_command,
    resume_command,
    cancel_command,
    demo_command,
    serve_command,
    signal_command,
    worker_command,
):
    cli.add_command(_store_option(command))
