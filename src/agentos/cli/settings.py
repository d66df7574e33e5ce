"""The global options every command sees (the data dir, the debug flag), and the pool
file option of the commands that run graphs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from agentos._exceptions import InvalidInputError
from agentos.cli.errors import usage
from agentos.eventstore.jsonl import default_root
from agentos.routing.pool import ProviderPool
from agentos.routing.pool_file import load_pool

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Settings:
    """Where runs live, and whether errors show tracebacks."""

    data: Path
    debug: bool = False
    store: str | None = None  # a postgresql:// URL; None: the JSONL store in `data`

    def require_data(self) -> Path:
        """The data dir, which must exist (for commands that read it)."""
        if self.store is None and not self.data.is_dir():
            raise usage(
                f"data dir {self.data} does not exist",
                "pass --data DIR or set AGENTOS_DATA_DIR, or start a run first",
            )
        return self.data


def current() -> Settings:
    """The settings of the running command."""
    found = click.get_current_context().find_object(Settings)
    return found if found is not None else Settings(default_root())


def pool_option(command: F) -> F:
    """The `--pool FILE` option (else AGENTOS_POOL), passed as `pool_file`."""
    option = click.option(
        "--pool",
        "pool_file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="AGENTOS_POOL",
        metavar="FILE",
        help="A provider pool file (YAML or JSON) to route model calls through "
        "(default: the catalog's pool); see docs/providers.md.",
    )
    return option(command)


def read_pool(path: Path | None) -> ProviderPool | None:
    """The pool in `path` (None without one); a bad file is a usage error (exit 2)."""
    if path is None:
        return None
    try:
        return load_pool(path)
    except InvalidInputError as exc:
        raise usage(str(exc), "fix the pool file: docs/providers.md shows its fields") from None
