"""Fixtures of the demo tests: one demo run shared by the session, an examples/ guard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from demo_support import EXAMPLES, SAMPLE_REPO, FinishedDemo, run_quietly, tree_hash


@pytest.fixture(scope="session", autouse=True)
def examples_unchanged() -> Iterator[None]:
    """The demo works on snapshots: examples/ must be byte-identical after the tests."""
    before = tree_hash(EXAMPLES)
    yield
    assert tree_hash(EXAMPLES) == before, "the demo tests changed examples/"


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> FinishedDemo:
    """The demo run on examples/sample_repo as PR #42."""
    return run_quietly(tmp_path_factory.mktemp("demo-data"), repo=SAMPLE_REPO, pr_number=42)
