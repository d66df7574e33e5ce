"""The catalog's entries as JSON files under `{data}/.catalog/`: `policies.json` and
`contextprofiles.json` (objects by name), `providerpool.json`, `graphs/{name}.json`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from agentos._files import confined, write_atomic
from agentos.eventstore.catalog_rows import POOL, Entry, Kind, Stored

#: the file of each kind kept as one JSON object by name
TABLES: dict[Kind, str] = {"policy": "policies", "profile": "contextprofiles"}


class CatalogFiles:
    """Entries in the data dir; a symlinked file or folder is never read or written."""

    shared = False

    def __init__(self, data_dir: str | Path) -> None:
        self.data = Path(data_dir)
        self.root = self.data / ".catalog"
        self._lock = threading.Lock()

    def load(self) -> Stored:
        stored = Stored()
        for kind, file in TABLES.items():
            path = self.root / f"{file}.json"
            doc = self._read(path, stored)
            if doc is None:
                continue
            if not isinstance(doc, dict):
                found = type(doc).__name__
                stored.problems.append(f"{path}: expected a JSON object, found {found}")
                continue
            for key, value in doc.items():
                stored.entries.append(Entry(kind, key, value, f"{path}: entry {key!r} skipped"))
        path = self.root / f"{POOL}.json"
        pool = self._read(path, stored)
        if pool is not None:
            stored.entries.append(Entry("pool", POOL, pool, str(path)))
        graphs = self.root / "graphs"
        for path in sorted(graphs.glob("*.json")) if graphs.is_dir() else ():
            doc = self._read(path, stored)
            if doc is not None:
                stored.entries.append(Entry("graph", path.stem, doc, str(path)))
        return stored

    def _read(self, path: Path, stored: Stored) -> Any:
        """The parsed JSON of `path`; None when it is missing or cannot load (a problem)."""
        try:
            return orjson.loads(confined(self.data, path).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # unreadable, a symlink, not JSON
            reason = " ".join(str(exc).split()) or type(exc).__name__
            stored.problems.append(f"{path}: {reason}")
            return None

    def write(self, kind: Kind, name: str, doc: bytes) -> None:
        with self._lock:
            if kind == "graph":
                write_atomic(confined(self.data, self.root / "graphs" / f"{name}.json"), doc)
            elif kind == "pool":
                write_atomic(confined(self.data, self.root / f"{POOL}.json"), doc)
            else:
                path = confined(self.data, self.root / f"{TABLES[kind]}.json")
                table = self._table(path)
                table[name] = orjson.Fragment(doc)
                write_atomic(path, orjson.dumps(table))

    def _table(self, path: Path) -> dict[str, Any]:
        """The entries of a table file as raw JSON; {} when it is missing or broken."""
        try:
            doc = orjson.loads(path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(doc, dict):
            return {}
        return {k: orjson.Fragment(orjson.dumps(v)) for k, v in doc.items()}

    async def stamp(self) -> int:
        return 0  # only this process writes them

    def stale(self) -> bool:
        return False

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        yield
