"""Helpers of the CLI tests: graphs, run listing, the installed script and its env."""

from __future__ import annotations

import os
import re
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

HERE = Path(__file__).parent

# agentos --data DATA ARGS... in-process (the `invoke` fixture)
Invoke = Callable[..., Result]

SMALL = """\
name: small
nodes:
  - {name: a, agent: "cli_agents:echo"}
  - {name: b, agent: "cli_agents:echo", after: [a]}
  - {name: c, agent: "cli_agents:echo", after: [a]}
  - {name: d, agent: "cli_agents:echo", after: [b, c]}
"""

FAILING = """\
name: failing
nodes:
  - {name: a, agent: "cli_agents:echo"}
  - {name: b, agent: "cli_agents:boom", after: [a], policy: {retry: {max_attempts: 1}}}
"""

SLOW = """\
name: slow
nodes:
  - {name: a, agent: "cli_agents:echo", params: {sleep: 0.4}}
  - {name: b, agent: "cli_agents:echo", after: [a], params: {sleep: 0.4}}
"""


def run_ids(data: Path) -> list[str]:
    """The runs with a log in the data dir."""
    if not data.is_dir():
        return []
    return sorted(p.parent.name for p in data.glob("[!.]*/events.jsonl"))  # no spare folders


def agentos_script() -> str:
    """The installed console script."""
    found = shutil.which("agentos") or str(Path(sys.executable).parent / "agentos")
    assert os.path.exists(found), found
    return found


def script_env() -> dict[str, str]:
    """The environment of a subprocess: fast store, test agents importable, no colour."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env["AGENTOS_FSYNC"] = "0"
    env["NO_COLOR"] = "1"
    env.pop("AGENTOS_DATA_DIR", None)
    return env


def read_until(proc: subprocess.Popen[str], pattern: str, timeout: float = 30.0) -> str:
    """The child's stdout up to the first line matching `pattern` (bounded wait).

    Reads the pipe's bytes as they come: a buffered readline after select would leave
    a second line of one write in Python's buffer, unseen by the next select."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(deadline - time.monotonic()):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
            text = seen.decode(errors="replace")
            for line in text.splitlines(keepends=True):
                if line.endswith("\n") and re.search(pattern, line):
                    return text
    raise AssertionError(f"no line matching {pattern!r} in:\n{seen.decode(errors='replace')}")
