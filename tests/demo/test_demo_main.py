"""`python -m agentos.demo` runs the demo and exits 0; relative repos follow the cwd."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from demo_support import OTHER_REPO, ROOT

from agentos.demo import resolve_repo


def test_module_entry_point(tmp_path: Path) -> None:
    env = {**os.environ, "AGENTOS_DATA_DIR": str(tmp_path / "data"), "AGENTOS_FSYNC": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "agentos.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout
    logs = list((tmp_path / "data").glob("run-*/events.jsonl"))
    assert len(logs) == 1


def test_relative_repo_is_resolved_against_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(OTHER_REPO, tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    assert resolve_repo("repo") == (tmp_path / "repo").resolve()
    with pytest.raises(FileNotFoundError, match="missing"):
        resolve_repo("missing")
