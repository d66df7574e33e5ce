"""`agentos serve` gives the server the demo's agents and workspace resolution."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from cli_support import Invoke

import agentos.api.app as api
from agentos.demo import registry as demo_agents
from agentos.demo.graph import resolve_source


def test_serve_passes_the_demo_agents_and_repo(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    made: dict[str, Any] = {}

    def fake_app(root: Path, **kw: Any) -> SimpleNamespace:
        made.update(kw)
        return SimpleNamespace(state=SimpleNamespace(token=kw["token"]))

    monkeypatch.setattr(api, "create_app", fake_app)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    assert invoke("serve", "--no-auth").exit_code == 0
    assert made["agents"] is demo_agents
    assert made["resolve_source"] is resolve_source
    # the demo's repository is found from anywhere, as `agentos demo` finds it
    monkeypatch.chdir(tmp_path)
    sample = resolve_source("examples/sample_repo")
    assert sample.is_dir() and sample.is_absolute()
    assert resolve_source(".") == tmp_path.resolve()
