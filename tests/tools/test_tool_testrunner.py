"""Running pytest on copies of the sample repositories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agentos.tools import run_pytest, run_pytest_sync, snapshot_tree

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample_repo"
OTHER = ROOT / "tests" / "fixtures" / "repos" / "other_repo"


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


async def test_sample_repo_fails_with_comparison(tmp_path: Path) -> None:
    before = snapshot_tree(SAMPLE)
    repo = _copy(SAMPLE, tmp_path)
    report = await run_pytest(repo, timeout=30)
    assert (report.passed, report.failed, report.errors, report.total) == (0, 1, 0, 1)
    assert report.exit_code == 1 and not report.timed_out
    [failure] = report.failures
    assert failure.test == "tests/test_answer.py::test_answer"
    assert (failure.file, failure.line) == ("tests/test_answer.py", 5)
    assert (failure.actual, failure.expected, failure.function) == ("41", "42", "answer")
    assert "assert 41 == 42" in failure.message
    assert "1 failed" in report.output_tail
    # nothing written into the workspace or the source repo
    assert snapshot_tree(repo) == before
    assert sorted(p.name for p in repo.rglob("*") if p.is_dir()) == ["calc", "frontend", "tests"]
    assert snapshot_tree(SAMPLE) == before
    assert not any(p.name in ("__pycache__", ".pytest_cache") for p in SAMPLE.rglob("*"))


async def test_sample_repo_passes_after_fix(tmp_path: Path) -> None:
    repo = _copy(SAMPLE, tmp_path)
    source = repo / "calc" / "answer.py"
    source.write_text(source.read_text().replace("return 41", "return 42"))
    report = await run_pytest(repo, timeout=30)
    assert (report.passed, report.failed, report.total, report.exit_code) == (1, 0, 1, 0)
    assert report.failures == []


def test_other_repo_sync(tmp_path: Path) -> None:
    repo = _copy(OTHER, tmp_path)
    report = run_pytest_sync(repo, timeout=30)
    assert report.failed == 1
    [failure] = report.failures
    assert failure.test == "tests/test_magic.py::test_magic_number"
    assert (failure.actual, failure.expected, failure.function) == ("7", "8", "magic_number")


async def test_reversed_comparison_and_error(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n"
        "def value():\n    return 3\n\n"
        "def test_rev():\n    assert 4 == value()\n\n"
        "def test_str():\n    assert 'a' == 'b'\n\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError('boom')\n\n"
        "def test_err(broken):\n    pass\n\n"
        "@pytest.mark.skip(reason='counted as skipped by the report')\n"
        "def test_skip():\n    pass\n\n"
        "def test_ok():\n    pass\n"
    )
    report = await run_pytest(tmp_path, timeout=30)
    assert (report.passed, report.failed, report.errors, report.skipped) == (1, 2, 1, 1)
    rev = next(f for f in report.failures if f.test.endswith("test_rev"))
    assert (rev.actual, rev.expected, rev.function) == ("3", "4", "value")
    text = next(f for f in report.failures if f.test.endswith("test_str"))
    assert (text.actual, text.expected, text.function) == ("'a'", "'b'", None)
    assert rev.test == "test_x.py::test_rev" and rev.line == 7
    err = next(f for f in report.failures if f.test.endswith("test_err"))
    assert "boom" in err.message and err.expected is None


async def test_timeout_kills_the_run(tmp_path: Path) -> None:
    (tmp_path / "test_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(30)\n")
    report = await run_pytest(tmp_path, timeout=1.0)
    assert report.timed_out
    assert report.duration < 10
    assert report.exit_code != 0


@pytest.mark.parametrize("config", ["", "[tool.pytest.ini_options]\naddopts = '-x'\n"])
async def test_without_pytest_ini(tmp_path: Path, config: str) -> None:
    (tmp_path / "pyproject.toml").write_text(config)
    (tmp_path / "test_y.py").write_text("def test_y():\n    assert 1 == 1\n")
    report = await run_pytest(tmp_path, timeout=30)
    assert (report.passed, report.total) == (1, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml", "test_y.py"]


async def test_plugins_named_in_args_still_load(tmp_path: Path) -> None:
    (tmp_path / "test_z.py").write_text("async def test_z():\n    assert True\n")
    args = ["-p", "pytest_asyncio.plugin", "-o", "asyncio_mode=auto"]
    report = await run_pytest(tmp_path, timeout=30, args=args)
    assert (report.passed, report.total) == (1, 1)
