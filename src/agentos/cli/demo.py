"""`agentos demo`: the git-to-prod-multi demo on a sample repository."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from agentos.cli.console import out_console
from agentos.cli.errors import usage
from agentos.cli.settings import current, pool_option, read_pool
from agentos.demo import run
from agentos.demo.graph import resolve_repo


@click.command("demo")
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="The repository to fix (default: examples/sample_repo).",
)
@click.option("--pr", "pr_number", type=int, default=42, show_default=True, help="The PR number.")
@pool_option
def demo_command(repo: Path | None, pr_number: int, pool_file: Path | None) -> None:
    """Run the git-to-prod-multi demo: plan, fix, test, scan and release a fix.

    Model calls go through --pool (else $AGENTOS_POOL), else the data dir's registered
    pool, as for `agentos run`. Shows live progress and a summary; exits 0 when the run
    succeeds, 1 if not.
    """
    pool = read_pool(pool_file)
    try:
        source = resolve_repo(repo)
    except FileNotFoundError as exc:
        raise usage(str(exc), "pass an existing directory with --repo") from None
    settings = current()
    result = asyncio.run(run.run_demo(source, pr_number, settings.data, out_console(), pool=pool))
    click.get_current_context().exit(result.exit_code)
