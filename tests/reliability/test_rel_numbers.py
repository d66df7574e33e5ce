"""Numbers are finite and bounded where they are accepted; a bad catalog file never bricks
the data dir; a catalog that is a symlink is neither written nor read.

Issue 14: a backoff or price of 1e400 was stored as `null` and then every start failed;
a price of 1e308 made each model call's cost infinite and its run unreadable.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from agentos.api.app import create_app
from agentos.cli.app import cli
from agentos.demo import registry as demo_agents
from agentos.demo.graph import resolve_source
from agentos.graphs.catalog import Catalog
from agentos.graphs.policy import Policy
from agentos.routing.pool import default_pool

POOL = default_pool().model_dump(mode="json")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    monkeypatch.delenv("AGENTOS_DATA_DIR", raising=False)


@asynccontextmanager
async def serving(data: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app on `data` with its lifespan (what `agentos serve` starts) and a client."""
    app = create_app(data, agents=demo_agents, resolve_source=resolve_source)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


def _pool_with(**model: object) -> bytes:
    pool = json.loads(json.dumps(POOL))
    pool["providers"][0]["models"][0].update(model)
    # json.dumps writes 1e400 as Infinity; send the literal a client would
    return json.dumps(pool).replace("Infinity", "1e400").encode()


# registration refuses what cannot be stored or computed with, naming the field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/policies", b'{"name":"p","policy":{"retry":{"backoff":1e400}}}', "backoff"),
        ("/policies", b'{"name":"p","policy":{"timeout":1e400}}', "timeout"),
        (
            "/policies",
            b'{"name":"p","policy":{"concurrency":100000000000000000000}}',
            "concurrency",
        ),
        ("/providerpool", _pool_with(price_in_per_1k=float("inf")), "price_in_per_1k"),
        ("/providerpool", _pool_with(price_out_per_1k=1e308), "price_out_per_1k"),
        ("/providerpool", _pool_with(context_window=10**30), "context_window"),
        ("/contextprofiles", b'{"name":"c","profile":{"budget":100000000000000000000}}', "budget"),
    ],
)
async def test_register_refuses_unbounded_numbers(
    tmp_path: Path, path: str, body: bytes, field: str
) -> None:
    data = tmp_path / "data"
    async with serving(data) as client:
        response = await client.post(
            path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert field in response.text
        assert (await client.get("/health")).status_code == 200
    catalog = tmp_path / "data" / ".catalog"
    assert not catalog.exists() or not any(catalog.rglob("*.json"))
    async with serving(data) as client:  # the data dir still starts
        assert (await client.get("/graphs")).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/runs", b'{"graph":"git-to-prod-multi","inputs":{"x":1e400}}', "x: inf"),
        (
            "/runs",
            b'{"graph":"git-to-prod-multi","inputs":{"x":[100000000000000000000]}}',
            "64-bit",
        ),
        (
            "/graphs",
            b'{"name":"g","nodes":[{"name":"a","agent":"x:y","params":{"p":-1e400}}]}',
            "params",
        ),
    ],
)
async def test_runs_and_graphs_refuse_unbounded_numbers(
    tmp_path: Path, path: str, body: bytes, says: str
) -> None:
    data = tmp_path / "data"
    async with serving(data) as client:
        response = await client.post(
            path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert says in response.text
        assert (await client.get("/runs")).json() in ([], {"runs": []})
    assert not (data / ".catalog" / "graphs").exists()


def test_python_api_refuses_non_finite_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="backoff"):
        Policy.model_validate({"retry": {"backoff": float("inf")}})
    with pytest.raises(ValueError, match="price_in_per_1k"):
        default_pool().providers[0].models[0].model_validate(
            {**POOL["providers"][0]["models"][0], "price_in_per_1k": float("nan")}
        )


# a catalog file that cannot load is named and skipped


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("policies.json", '{"ok": {"timeout": 5}, "bad": {"retry": {"backoff": null}'),
        ("policies.json", '{"ok": {"timeout": 5}, "bad": {"retry": {"backoff": null}}}'),
        ("contextprofiles.json", "[1, 2"),
        ("providerpool.json", '{"providers": [{"name": "x", "models": null}]}'),
        ("graphs/g.json", '{"name": "g", "nodes": ['),
    ],
)
async def test_bad_catalog_file_is_named_and_skipped(tmp_path: Path, name: str, text: str) -> None:
    data = tmp_path / "data"
    _write(data / ".catalog" / name, text)
    catalog = Catalog(data)
    assert catalog.problems and all(name in p for p in catalog.problems)
    assert "git-to-prod-multi" in catalog.graphs
    if "bad" in text and text.endswith("}}}"):
        assert "ok" in catalog.policies and "bad" not in catalog.policies
    async with serving(data) as client:  # the server starts and serves the rest
        assert (await client.get("/graphs")).status_code == 200


def test_cli_names_the_catalog_file_that_did_not_load(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write(data / ".catalog" / "graphs" / "mine.json", '{"name": "mine", "nodes": [')
    result = CliRunner().invoke(cli, ["--data", str(data), "run", "mine"])
    assert result.exit_code == 2
    assert "mine.json" in result.output
    assert "Traceback" not in result.output


def test_cli_names_a_truncated_policies_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    graph = {"name": "g", "nodes": [{"name": "a", "agent": "x:y", "policy": "mine"}]}
    _write(data / ".catalog" / "graphs" / "g.json", json.dumps(graph))
    _write(data / ".catalog" / "policies.json", '{"mine": {"timeout": 5')
    result = CliRunner().invoke(cli, ["--data", str(data), "run", "g"])
    assert result.exit_code == 2
    assert "policies.json" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


# the catalog stays inside the data dir


@pytest.mark.parametrize("link", [".catalog", ".catalog/policies.json"])
def test_symlinked_catalog_is_not_written_or_read(tmp_path: Path, link: str) -> None:
    data = tmp_path / "data"
    outside = tmp_path / "outside"
    outside.mkdir()
    (data / ".catalog").mkdir(parents=True)
    target = outside if link == ".catalog" else outside / "policies.json"
    if link == ".catalog":
        (data / ".catalog").rmdir()
        (outside / "policies.json").write_text('{"evil": {"timeout": 1}}')
    else:
        target.write_text('{"evil": {"timeout": 1}}')
    os.symlink(target, data / link)
    catalog = Catalog(data)
    assert "evil" not in catalog.policies
    assert any("symlink" in p for p in catalog.problems)
    with pytest.raises(ValueError, match="symlink"):
        catalog.put_policy("p", Policy(timeout=3))
    assert json.loads((outside / "policies.json").read_text()) == {"evil": {"timeout": 1}}
    assert sorted(p.name for p in outside.iterdir()) == ["policies.json"]


# run inputs from the CLI


def _deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--input", "x=NaN"], "x"),
        (["--input", "x=1e400"], "x"),
        (["--input", "x=100000000000000000000"], "64-bit"),
        (["--input", f"x={_deep(100_000)}"], "nested deeper"),
        (["--input", f"x={_deep(150)}"], "nested deeper"),
    ],
)
def test_cli_refuses_out_of_range_inputs(tmp_path: Path, args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli, ["--data", str(tmp_path / "d"), "run", "nope", *args])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [('{"a": ' + _deep(100_000) + "}", "nested deeper"), ('{"a": {"b": NaN}}', "a.b")],
)
def test_cli_refuses_out_of_range_inputs_file(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(text)
    result = CliRunner().invoke(
        cli, ["--data", str(tmp_path / "d"), "run", "nope", "--inputs-json", str(path)]
    )
    assert result.exit_code == 2, result.output
    assert says in result.output and "RecursionError" not in result.output
    assert len(result.output.strip().splitlines()) == 1
