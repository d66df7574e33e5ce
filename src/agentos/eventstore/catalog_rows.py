"""Where a catalog keeps its entries: the interface of its backends (files in the data
dir, a table of a shared PostgreSQL store) and what they hand back."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

#: what an entry is: a policy, a context profile, a graph, the provider pool
Kind = Literal["policy", "profile", "graph", "pool"]
KINDS: tuple[Kind, ...] = ("policy", "profile", "graph", "pool")

#: the name of the one pool entry
POOL = "providerpool"


@dataclass(frozen=True)
class Entry:
    """One stored entry, parsed from JSON but not validated; `where` names it in a problem."""

    kind: Kind
    name: str
    doc: Any
    where: str


@dataclass
class Stored:
    """Every entry a backend holds, the entries or files it could not read (one line
    each, naming them), and its stamp when read."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stamp: int = 0


class CatalogSource(Protocol):
    """A catalog's backend: read every entry, write one. `load` and `write` block (a
    file or a query): callers on a loop run them in a thread."""

    #: whether other processes write it too (then the catalog reloads when it changed)
    shared: bool

    def load(self) -> Stored:
        """Every entry, with the stamp of what was read."""
        ...

    def write(self, kind: Kind, name: str, doc: bytes) -> None:
        """Store (or replace) one entry, `doc` being its JSON."""
        ...

    async def stamp(self) -> int:
        """A number that changes with every write, by any process (cheap)."""
        ...

    def stale(self) -> bool:
        """Whether another process announced a write since the last `load`, while
        `watching` (no query: it is a flag)."""
        ...

    def watching(self) -> AbstractContextManager[None]:
        """Note announced writes on the running loop while inside."""
        ...
