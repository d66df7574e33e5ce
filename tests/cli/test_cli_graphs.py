"""`agentos graphs`: the shipped graph and the ones registered in the catalog."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Invoke

from agentos.graphs.catalog import Catalog
from agentos.graphs.load import load_graph


def test_lists_shipped_and_registered_graphs(invoke: Invoke, data: Path) -> None:
    graph = load_graph(
        {
            "name": "tiny",
            "description": "one node",
            "inputs": {"topic": "cats"},
            "nodes": [{"name": "only", "agent": "cli_agents:echo"}],
        }
    )
    Catalog(data).put_graph(graph)
    result = invoke("graphs", "--json")
    assert result.exit_code == 0, result.output
    docs = {d["name"]: d for d in json.loads(result.stdout)}
    assert docs["tiny"] == {
        "name": "tiny",
        "description": "one node",
        "version": 1,
        "builtin": False,
        "nodes": ["only"],
        "inputs": {"topic": "cats"},
    }
    assert docs["git-to-prod-multi"]["builtin"] is True
    text = invoke("graphs").stdout
    assert "tiny" in text and "topic" in text and "git-to-prod-multi (shipped)" in text


def test_a_catalog_file_that_cannot_load_is_named(invoke: Invoke, data: Path) -> None:
    bad = data / ".catalog" / "graphs" / "broken.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    result = invoke("graphs")
    assert result.exit_code == 0
    assert "skipped" in result.stderr and "broken.json" in result.stderr
    assert "git-to-prod-multi" in result.stdout
