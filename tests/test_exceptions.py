"""One exception root: every error class of agentos is an AgentOSError, drawn in the tree
of `agentos._exceptions`, under the parent and with the extra base the tree gives it."""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import click
import pytest

import agentos
from agentos import _exceptions
from agentos._exceptions import AgentOSError


def _modules() -> list[str]:
    found = pkgutil.walk_packages(agentos.__path__, "agentos.")
    return sorted(m.name for m in found if not m.name.endswith("__main__"))


def _error_classes() -> dict[str, type[BaseException]]:
    """Every public exception class defined in a module of agentos, by name (a private
    one, such as the actor loop's `_StepDone`, is control flow that never leaves its
    module)."""
    classes: dict[str, type[BaseException]] = {}
    for name in ["agentos", *_modules()]:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.split(".")[0] == "agentos"
                and not value.__name__.startswith("_")
            ):
                assert classes.setdefault(value.__name__, value) is value, value
    return classes


ERRORS = _error_classes()
# a tree line: its glyphs, the class, an extra base in parentheses, a [module] mark
TREE_LINE = re.compile(r"^(?P<glyphs>[ │├└─]*)(?P<name>[A-Z]\w+)(?: \((?P<extra>[\w.]+)\))?")


def _tree() -> dict[str, tuple[str | None, str | None]]:
    """The docstring's tree: class name -> (parent name, extra base name)."""
    doc = _exceptions.__doc__ or ""
    lines = doc[doc.index("\nAgentOSError\n") + 1 :].split("\n\n")[0].splitlines()
    tree: dict[str, tuple[str | None, str | None]] = {}
    stack: list[tuple[int, str]] = []  # (column, name) of the open ancestors
    for line in lines:
        match = TREE_LINE.match(line)
        assert match, line
        column = len(match["glyphs"])
        while stack and stack[-1][0] >= column:
            stack.pop()
        tree[match["name"]] = (stack[-1][1] if stack else None, match["extra"])
        stack.append((column, match["name"]))
    return tree


TREE = _tree()


def test_the_walk_finds_the_errors_of_every_layer() -> None:
    for name in ("StoreError", "GraphValidationError", "CliError", "DemoAgentError"):
        assert name in ERRORS


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_every_error_class_derives_from_the_root(name: str) -> None:
    assert issubclass(ERRORS[name], AgentOSError)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_the_tree_draws_every_error_class(name: str) -> None:
    assert name in TREE, f"{name} is missing from the tree in agentos/_exceptions.py"


def _resolve(name: str) -> type:
    if name == "click.ClickException":
        return click.ClickException
    found = ERRORS.get(name) or getattr(builtins, name)
    assert isinstance(found, type)
    return found


@pytest.mark.parametrize("name", sorted(TREE))
def test_each_class_has_the_parent_and_extra_base_the_tree_draws(name: str) -> None:
    assert name in ERRORS, f"the tree names {name}, which agentos does not define"
    cls = ERRORS[name]
    parent, extra = TREE[name]
    if parent is None:
        assert cls is AgentOSError
    else:
        assert ERRORS[parent] in cls.__bases__, (name, parent, cls.__bases__)
    if extra is not None:
        assert issubclass(cls, _resolve(extra)), (name, extra)


@pytest.mark.parametrize(
    "name",
    [
        "InvalidInputError",
        "InvalidNameError",
        "RunExistsError",
        "InvalidEventError",
        "EventRejectedError",
        "UnsafePathError",
        "PathEscapeError",
        "PatchError",
    ],
)
def test_domain_errors_that_replaced_value_error_are_still_value_errors(name: str) -> None:
    assert issubclass(ERRORS[name], ValueError)


def test_the_store_errors_keep_their_attributes() -> None:
    write = ERRORS["StoreWriteError"]("disk", errno=28)
    assert write.errno == 28  # type: ignore[attr-defined]
    stall = ERRORS["RunStalledError"]("r1", "disk full", "ENOSPC")
    assert stall.no_space and isinstance(stall, write.__class__)  # type: ignore[attr-defined]
    corrupt = _exceptions.CorruptLogError("bad crc", "/data/r1/events.jsonl", 3)
    assert str(corrupt) == "/data/r1/events.jsonl: line 3: bad crc"
    assert corrupt.describe(Path("/data")) == "r1/events.jsonl: line 3: bad crc"
    assert str(_exceptions.UnknownRunError()) == "unknown run"
