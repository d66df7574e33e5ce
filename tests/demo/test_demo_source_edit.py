"""Unit tests of the demo agents' pure helpers: fix derivation, changelog, versions."""

from __future__ import annotations

import pytest

from agentos.demo._source import return_literals
from agentos.demo.fixers import derive_fix
from agentos.demo.release import add_entry, next_version

SOURCE = """def outer() -> str:
    def inner() -> int:
        return 1

    if inner():
        return "no"
    return "no"


def neg() -> int:
    return -1
"""


def test_derive_fix_replaces_only_the_functions_literal() -> None:
    item = {"function": "outer", "actual": "'no'", "expected": "'yes'"}
    derived = derive_fix(SOURCE, item)
    assert derived is not None
    fixed, change = derived
    assert change == {"line": 6, "old": '"no"', "new": "'yes'"}
    assert [r.value for r in return_literals(fixed, "outer")] == ["yes", "no"]
    assert [r.value for r in return_literals(fixed, "inner")] == [1]


def test_derive_fix_handles_negative_numbers_and_misses() -> None:
    derived = derive_fix(SOURCE, {"function": "neg", "actual": "-1", "expected": "1"})
    assert derived is not None and "return 1\n" in derived[0]
    assert derive_fix(SOURCE, {"function": "neg", "actual": "2", "expected": "1"}) is None
    assert derive_fix(SOURCE, {"function": "gone", "actual": "1", "expected": "2"}) is None
    assert derive_fix(SOURCE, {"function": "neg", "actual": "x()", "expected": "1"}) is None


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("# Changelog\n\n## Unreleased\n", "# Changelog\n\n## Unreleased\n\n- new\n"),
        (
            "# Changelog\n\n## Unreleased\n\n- old\n\n## 1.2.3\n",
            "# Changelog\n\n## Unreleased\n\n- new\n- old\n\n## 1.2.3\n",
        ),
        ("# Changelog\n\n## 1.0.0\n", "# Changelog\n\n## Unreleased\n\n- new\n\n## 1.0.0\n"),
        ("", "## Unreleased\n\n- new\n"),
    ],
)
def test_add_entry(before: str, after: str) -> None:
    assert add_entry(before, "Unreleased", "- new") == after
    assert add_entry(after, "Unreleased", "- new") == after


def test_next_version() -> None:
    assert next_version("# Changelog\n") == "0.1.0"
    assert next_version("## [1.2.3] - 2024\n## 1.10.0\n") == "1.10.1"
