"""Fixtures for CLI tests: test agents on sys.path, small graphs, a finished run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agentos.cli import cli

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from cli_support import FAILING, SMALL, Invoke, run_ids  # noqa: E402


@pytest.fixture(autouse=True)
def _fast_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_DATA_DIR", raising=False)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def invoke(data: Path) -> Invoke:
    """Run `agentos --data DATA ARGS...` in-process."""

    def run(*args: str, data_dir: Path | None = None) -> Result:
        root = data_dir if data_dir is not None else data
        return CliRunner().invoke(cli, ["--data", str(root), *args], catch_exceptions=False)

    return run


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    path = tmp_path / "failing.yaml"
    path.write_text(FAILING)
    return path


@pytest.fixture
def done_run(invoke: Invoke, small: Path, data: Path) -> str:
    """The id of a finished run of the small graph."""
    result = invoke("run", str(small), "--input", "x=1")
    assert result.exit_code == 0, result.output
    (run_id,) = run_ids(data)
    return run_id
