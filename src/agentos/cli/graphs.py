"""`agentos graphs`: the graphs registered in the catalog (the data dir's, or the
shared one of a PostgreSQL store)."""

from __future__ import annotations

import asyncio
import json

import click
from rich.markup import escape
from rich.table import Table

from agentos.cli.console import error_console, out_console
from agentos.cli.runlog import shared_catalog
from agentos.cli.session import agents
from agentos.cli.settings import Settings, current
from agentos.graphs.catalog import BUILTIN_GRAPHS, Catalog


@click.command("graphs")
@click.option("--json", "as_json", is_flag=True, help="Print the graphs as a JSON array.")
def graphs_command(as_json: bool) -> None:
    """List the registered graphs: the shipped ones and those in DATA/.catalog/graphs
    (POST /graphs registers one). Each with its version, nodes and declared inputs;
    catalog files that cannot load are named on stderr.
    """
    settings = current()
    if settings.store is None:
        catalog = Catalog(settings.data, agents())
    else:
        catalog = asyncio.run(_shared(settings))
    graphs = [catalog.graphs[name] for name in sorted(catalog.graphs)]
    for problem in catalog.problems:
        error_console().print(f"skipped {escape(problem)}")
    if as_json:
        docs = [
            {
                "name": g.name,
                "description": g.description,
                "version": g.version,
                "builtin": g.name in BUILTIN_GRAPHS,
                "nodes": [n.name for n in g.nodes],
                "inputs": g.inputs,
            }
            for g in graphs
        ]
        click.echo(json.dumps(docs, indent=2))
        return
    table = Table()
    for column in ("graph", "version", "nodes", "inputs", "description"):
        table.add_column(column)
    for g in graphs:
        shipped = " [dim](shipped)[/]" if g.name in BUILTIN_GRAPHS else ""
        table.add_row(
            escape(g.name) + shipped,
            str(g.version),
            escape(", ".join(n.name for n in g.nodes)),
            escape(", ".join(g.inputs) or "-"),
            escape(g.description),
        )
    out_console().print(table)


async def _shared(settings: Settings) -> Catalog:
    assert settings.store is not None
    async with shared_catalog(settings.store, settings.data, agents()) as catalog:
        return catalog
