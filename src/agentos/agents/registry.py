"""The agent registry: names and import paths resolved to agent callables."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from agentos._exceptions import InvalidInputError
from agentos._exceptions import UnknownAgentError as UnknownAgentError

Agent = Callable[[Any], Any]
F = TypeVar("F", bound=Agent)


class AgentRegistry:
    """Agents by name; a reference may also be an import path `package.module:callable`."""

    def __init__(self) -> None:
        self._agents: dict[str, Agent] = {}

    def register(self, name: str, fn: Agent, *, replace: bool = False) -> None:
        """Register `fn` as `name`; another callable under a taken name needs `replace`."""
        if not name:
            raise InvalidInputError("agent name must not be empty")
        if not callable(fn):
            raise TypeError(f"agent {name!r} is not callable: {fn!r}")
        current = self._agents.get(name)
        if current is not None and current is not fn and not replace:
            raise InvalidInputError(f"agent {name!r} is already registered as {current!r}")
        self._agents[name] = fn

    def agent(self, name: str) -> Callable[[F], F]:
        """Decorator registering the decorated callable as `name`."""

        def decorate(fn: F) -> F:
            self.register(name, fn)
            return fn

        return decorate

    def resolve(self, ref: str) -> Agent:
        """The callable for a registered name or a `package.module:callable` path."""
        if ref in self._agents:
            return self._agents[ref]
        module_name, sep, attr = ref.partition(":")
        if not sep or not module_name or not attr:
            raise UnknownAgentError(
                f"unknown agent {ref!r}: not registered and not an import path "
                "'package.module:callable'"
            )
        try:
            target: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
        except ImportError as exc:
            where = _looked(exc, module_name)
            raise UnknownAgentError(
                f"unknown agent {ref!r}: cannot import {module_name!r}: {exc}{where}"
            ) from exc
        except AttributeError as exc:
            raise UnknownAgentError(
                f"unknown agent {ref!r}: {module_name!r} has no {attr!r}"
            ) from exc
        if not callable(target):
            raise UnknownAgentError(f"unknown agent {ref!r}: {target!r} is not callable")
        fn: Agent = target
        return fn

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._agents)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._agents


def _looked(exc: ImportError, module: str) -> str:
    """Where Python looked for `module` (or its package) when it did not find it, and
    how to add a place; "" when it was found but failed to import something else."""
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if missing is None or not (module == missing or module.startswith(f"{missing}.")):
        return ""
    places = ", ".join(repr(p or os.getcwd()) for p in sys.path) or "nowhere"
    return (
        f" (looked in sys.path: {places}; put the folder holding {exc.name!r} on "
        "PYTHONPATH, e.g. PYTHONPATH=. from the folder of your agents)"
    )


default_registry = AgentRegistry()


def register(name: str, fn: Agent, *, replace: bool = False) -> None:
    """Register `fn` as `name` in the default registry."""
    default_registry.register(name, fn, replace=replace)


def agent(name: str) -> Callable[[F], F]:
    """Decorator registering the decorated callable as `name` in the default registry."""
    return default_registry.agent(name)
