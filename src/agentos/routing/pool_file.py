"""Pool files: a provider pool kept as YAML or JSON (`agentos run --pool`, AGENTOS_POOL)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from agentos._exceptions import InvalidInputError
from agentos.routing.pool import ProviderPool


def load_pool(path: str | Path) -> ProviderPool:
    """The pool in `path`; InvalidInputError with one line naming the file and the first
    problem when it cannot be read or is not a valid pool."""
    file = Path(path)
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"pool file {file}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInputError(f"pool file {file}: not YAML or JSON: {first}") from None
    if isinstance(doc, list):
        doc = {"providers": doc}
    if not isinstance(doc, dict):
        found = type(doc).__name__
        raise InvalidInputError(f"pool file {file}: expected a mapping, found {found}")
    try:
        return ProviderPool.model_validate(doc)
    except ValidationError as exc:
        raise InvalidInputError(f"pool file {file}: {first_problem(exc)}") from None


def first_problem(exc: ValidationError) -> str:
    """The first problem of a validation error, in one line, with where it is."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return " ".join(f"{where}: {message}{more}".split())
