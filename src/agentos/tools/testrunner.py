"""Run pytest on a workspace in an isolated subprocess and report structured results."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

TAIL_CHARS = 4000
_LOCATION = re.compile(r"^(\S[^\n:]*):(\d+): ", re.MULTILINE)
_COMPARE = re.compile(r"^E\s+(?:AssertionError: )?assert (.+?) == (.+?)\s*$", re.MULTILINE)
_WHERE = re.compile(r"^E\s+\+\s+where (.+?) = (.+?)\(.*\)\s*$", re.MULTILINE)
_FUNCTION_REPR = re.compile(r"<(?:bound )?(?:function|method) ([\w.]+)")
_CONFIGS = (
    ("pytest.ini", None),
    ("pyproject.toml", "[tool.pytest.ini_options]"),
    ("tox.ini", "[pytest]"),
    ("setup.cfg", "[tool:pytest]"),
)


class TestFailure(BaseModel):
    """One failing or erroring test."""

    __test__ = False

    test: str
    file: str | None = None
    line: int | None = None
    message: str
    expected: str | None = None
    actual: str | None = None
    function: str | None = None


class TestReport(BaseModel):
    """The outcome of one pytest run."""

    __test__ = False

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    total: int = 0
    duration: float = 0.0
    exit_code: int
    failures: list[TestFailure] = []
    timed_out: bool = False
    output_tail: str = ""


def _config_file(root: Path) -> str:
    for name, section in _CONFIGS:
        path = root / name
        if path.is_file() and (section is None or section in path.read_text("utf-8", "replace")):
            return str(path)
    return os.devnull


def _node_id(case: ET.Element) -> str:
    name = case.get("name", "?")
    classname = case.get("classname", "")
    file = case.get("file")
    if file:
        module = file.removesuffix(".py").replace("/", ".")
        rest = classname[len(module) + 1 :] if classname.startswith(module) else ""
        return "::".join([file, *filter(None, rest.split(".")), name])
    return f"{classname}::{name}" if classname else name


def _comparison(text: str) -> tuple[str | None, str | None, str | None]:
    """Return (expected, actual, function) from pytest's assertion rewriting output."""
    compare = _COMPARE.search(text)
    if compare is None:
        return None, None, None
    left, right = compare.group(1), compare.group(2)
    where = _WHERE.search(text)
    if where is None:
        return right, left, None
    value, callee = where.group(1), where.group(2)
    named = _FUNCTION_REPR.search(callee)
    function = (named.group(1) if named else callee).rsplit(".", 1)[-1]
    if value == right and value != left:
        return left, right, function
    return right, left, function


def _failure(case: ET.Element, node: ET.Element) -> TestFailure:
    text = node.text or ""
    lines = text.strip().splitlines()
    message = node.get("message") or (lines[-1] if lines else "")
    file, line = case.get("file"), None
    locations = _LOCATION.findall(text)
    if locations:
        file, line = locations[-1][0], int(locations[-1][1])
    expected, actual, function = _comparison(text)
    return TestFailure(
        test=_node_id(case),
        file=file,
        line=line,
        message=message.strip(),
        expected=expected,
        actual=actual,
        function=function,
    )


def _parse_junit(xml_path: Path, report: TestReport) -> None:
    try:
        tree = ET.parse(xml_path)
    except (OSError, ET.ParseError):
        return
    for suite in tree.getroot().iter("testsuite"):
        report.total += int(suite.get("tests", "0"))
        report.failed += int(suite.get("failures", "0"))
        report.errors += int(suite.get("errors", "0"))
        report.skipped += int(suite.get("skipped", "0"))
    for case in tree.getroot().iter("testcase"):
        for node in case:
            if node.tag in ("failure", "error"):
                report.failures.append(_failure(case, node))
    report.passed = max(0, report.total - report.failed - report.errors - report.skipped)


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


async def run_pytest(
    root: Path,
    timeout: float = 60,
    python: str = sys.executable,
    args: Sequence[str] = (),
    *,
    autoload_plugins: bool = False,
) -> TestReport:
    """Run pytest in ``root`` without writing caches or reports into it.

    Installed plugins are not auto-loaded unless ``autoload_plugins``; name them with
    ``args`` (``-p name``) instead.
    """
    root = root.resolve()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if not autoload_plugins:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    else:
        env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    with tempfile.TemporaryDirectory(prefix="agentos-pytest-") as tmp:
        xml_path = Path(tmp, "report.xml")
        cmd = [
            python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--rootdir", str(root), "--confcutdir", str(root), "-c", _config_file(root),
            "-o", "addopts=", "-o", "junit_family=xunit1", "--junitxml", str(xml_path),
            *args,
        ]  # fmt: skip
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        assert proc.stdout is not None
        reader = asyncio.ensure_future(proc.stdout.read())
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            timed_out = True
            _kill(proc)
            await proc.wait()
        except BaseException:
            _kill(proc)
            reader.cancel()
            raise
        try:
            output = await asyncio.wait_for(reader, 5)
        except TimeoutError:
            output = b""
        report = TestReport(
            exit_code=proc.returncode if proc.returncode is not None else -1,
            duration=round(time.monotonic() - started, 3),
            timed_out=timed_out,
            output_tail=output.decode("utf-8", "replace")[-TAIL_CHARS:],
        )
        _parse_junit(xml_path, report)
    return report


def run_pytest_sync(
    root: Path,
    timeout: float = 60,
    python: str = sys.executable,
    args: Sequence[str] = (),
    *,
    autoload_plugins: bool = False,
) -> TestReport:
    """Blocking wrapper around :func:`run_pytest` for scripts."""
    return asyncio.run(run_pytest(root, timeout, python, args, autoload_plugins=autoload_plugins))
