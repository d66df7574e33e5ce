"""`agentos.__all__`: every name exists and imports, the docs' imports are in it, and every
public error is reachable from `agentos` (and still from the package it belongs to)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import agentos
from agentos import _exceptions

ROOT = Path(__file__).resolve().parents[1]
# the front-ends' and the demo's own errors stay in their packages
NOT_TOP_LEVEL = ("agentos.cli", "agentos.demo")


def test_all_is_sorted_without_duplicates() -> None:
    assert list(agentos.__all__) == sorted(set(agentos.__all__))


@pytest.mark.parametrize("name", agentos.__all__)
def test_every_name_of_all_exists(name: str) -> None:
    assert hasattr(agentos, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from agentos import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(agentos.__all__)


def _documented_imports() -> set[str]:
    """The names the docs import `from agentos import ...`."""
    names: set[str] = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for found in re.findall(r"^from agentos import \(?([^)\n]+)", text, re.MULTILINE):
            names |= {n.strip() for n in found.split(",") if n.strip()}
    return names


def test_what_the_docs_import_is_in_all() -> None:
    documented = _documented_imports()
    assert documented >= {"AgentRegistry", "InMemoryEventStore", "NodeContext", "Supervisor"}
    assert documented <= set(agentos.__all__)


def _public_errors() -> list[type[BaseException]]:
    """Every AgentOSError class of the library (not of the CLI or the demo)."""
    errors = []
    for name in _modules():
        if name.startswith(NOT_TOP_LEVEL):
            continue
        for value in vars(importlib.import_module(name)).values():
            if (
                inspect.isclass(value)
                and issubclass(value, _exceptions.AgentOSError)
                and value.__module__.startswith("agentos")
                and value not in errors
            ):
                errors.append(value)
    return errors


def _modules() -> list[str]:
    found = pkgutil.walk_packages(agentos.__path__, "agentos.")
    return sorted(m.name for m in found if not m.name.endswith("__main__"))


@pytest.mark.parametrize("error", _public_errors(), ids=lambda e: e.__name__)
def test_every_public_error_is_reachable_from_agentos(error: type[BaseException]) -> None:
    assert error.__name__ in agentos.__all__
    assert getattr(agentos, error.__name__) is error


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("agentos.eventstore", "StoreError"),
        ("agentos.eventstore", "UnknownRunError"),
        ("agentos.eventstore", "CorruptLogError"),
        ("agentos.eventstore", "RunLockedError"),
        ("agentos.eventstore", "StoreWriteError"),
        ("agentos.eventstore", "EventRejectedError"),
        ("agentos.eventstore", "ArtifactNotFoundError"),
        ("agentos.eventstore", "ConcurrencyError"),
        ("agentos.eventstore.base", "StoreError"),
        ("agentos.actors", "BudgetExceededError"),
        ("agentos.actors", "RunEndedError"),
        ("agentos.actors", "NoModelError"),
        ("agentos.actors.stall", "RunStalledError"),
        ("agentos.agents", "UnknownAgentError"),
        ("agentos.graphs", "GraphValidationError"),
        ("agentos.graphs", "UnknownGraphError"),
        ("agentos.routing", "NoModelFitsError"),
        ("agentos.routing", "AllProvidersFailedError"),
        ("agentos.routing", "ProviderError"),
        ("agentos.state", "UnknownStepError"),
        ("agentos.events", "EventDecodeError"),
        ("agentos.tools", "PathEscapeError"),
        ("agentos.tools", "PatchError"),
        ("agentos.api.allowlist", "AgentNotAllowedError"),
        ("agentos._files", "UnsafePathError"),
    ],
)
def test_errors_still_import_from_their_package(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(agentos, name)
