"""`agentos serve`: the HTTP control plane, with uvicorn."""

from __future__ import annotations

import click

from agentos.cli.errors import failure
from agentos.cli.settings import current


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port to listen on.",
)
def serve_command(host: str, port: int) -> None:
    """Serve the HTTP API and dashboard over the data dir until interrupted.

    Unfinished runs in the data dir are resumed by the server.
    """
    try:
        import uvicorn

        from agentos.api.app import create_app
    except ImportError as exc:
        raise failure(
            f"the HTTP API is not available: {exc}", "install agentos with its API"
        ) from exc
    app = create_app(current().data)
    # live event streams of unfinished runs would otherwise hold a shutdown forever
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=3)
