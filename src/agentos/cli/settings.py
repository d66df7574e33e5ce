"""The global options every command sees: the data dir and the debug flag."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from agentos.cli.errors import usage
from agentos.eventstore.jsonl import default_root


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
