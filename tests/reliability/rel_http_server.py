"""A real uvicorn server on a free loopback port, and the HTTP load that drives it.

`thread_server` runs the app in a thread of this process; `process_server` runs it in a
child (`python rel_http_server.py --data D`), which binds 127.0.0.1 port 0, prints the
port, and stops by itself after `--max-seconds` or when its parent dies. Both stop the
server (lifespan included) on exit. `drive_load` is the load of test_rel_http_load.py
and benchmarks/http_load.py. The agents here are reachable as `rel_http_server:<name>`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import httpx

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"  # never anything else
TERMINAL = ("succeeded", "failed", "cancelled")
XSS_NOTE = "<img src=x onerror=window.__xss2=1>"
ALLOW = "rel_http_server:*"  # the agents below, allowed over HTTP
XSS_ERROR = "<img src=x onerror=window.__xss3=1><script>window.__xss3=1</script>"


# agents, by import path


async def noop(ctx: Any) -> dict[str, Any]:
    """Return at once."""
    return {"node": ctx.node}


async def hostile_note(ctx: Any) -> dict[str, Any]:
    """Return an output holding markup."""
    return {"note": XSS_NOTE}


async def hostile_fail(ctx: Any) -> dict[str, Any]:
    """Fail with an error message holding markup."""
    raise RuntimeError(XSS_ERROR)


def fast_graph(name: str = "fast", agent: str = "rel_http_server:noop") -> dict[str, Any]:
    """A two-node graph of no-op agents."""
    return {
        "name": name,
        "description": "two no-op nodes",
        "nodes": [
            {"name": "first", "agent": agent},
            {"name": "second", "agent": agent, "after": ["first"]},
        ],
    }


# the schema


def declared_error(schema: dict[str, Any], method: str, path: str, status: int) -> Any:
    """The model the OpenAPI `schema` declares for a `status` answer to `method path`
    (exact code, else 4XX), as a pydantic model or a union; None for an unknown route."""
    from agentos.api.models import Detail, GraphRefused, InvalidRequest

    models: dict[str, Any] = {
        "Detail": Detail,
        "InvalidRequest": InvalidRequest,
        "HTTPValidationError": InvalidRequest,  # fastapi's own
        "GraphRefused": GraphRefused,
    }
    for template, item in schema["paths"].items():
        if not re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path):
            continue
        op = item.get(method.lower()) or next(iter(item.values()))
        found = op["responses"].get(str(status)) or op["responses"].get("4XX")
        assert found is not None, f"{method} {path} declares no {status}"
        body = found["content"]["application/json"]["schema"]
        refs = [body["$ref"]] if "$ref" in body else [x["$ref"] for x in body["anyOf"]]
        union = [models[r.rsplit("/", 1)[-1]] for r in refs]
        return union[0] if len(union) == 1 else Union[tuple(union)]  # noqa: UP007
    return None


# servers


async def final_state(
    client: httpx.AsyncClient, run_id: str, timeout: float = 20
) -> dict[str, Any]:
    """The run's state once it is terminal (`timeout` seconds at most)."""
    deadline = time.monotonic() + timeout
    while True:
        res = await client.get(f"/runs/{run_id}")
        assert res.status_code == 200, res.text
        body: dict[str, Any] = res.json()
        if body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"run {run_id} still {body['status']}"
        await asyncio.sleep(0.02)


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit it; without it a response waits ~40 ms for a delayed ack
    # (uvicorn sets it itself only on sockets it creates)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((HOST, 0))
    return sock


@contextmanager
def thread_server(data_dir: Path, token: str | None = None, **options: Any) -> Iterator[str]:
    """Serve `create_app(data_dir, token, **options)` in a thread; yields the base url.

    The agents of this module are allowed over HTTP unless `allow_agents` says otherwise.
    """
    import uvicorn

    from agentos.api.app import create_app
    from agentos.demo import registry as demo_agents
    from agentos.demo.graph import resolve_source

    sock = _bound_socket()
    port = sock.getsockname()[1]
    options.setdefault("allow_agents", [ALLOW])
    options.setdefault("agents", demo_agents)  # what `agentos serve` passes
    options.setdefault("resolve_source", resolve_source)
    config = uvicorn.Config(
        create_app(data_dir, token=token, **options),
        log_level="warning",
        timeout_graceful_shutdown=3,
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    try:
        while not srv.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        yield f"http://{HOST}:{port}"
    finally:
        srv.should_exit = True
        thread.join(30)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("server did not stop")


@contextmanager
def process_server(
    data_dir: Path,
    token: str | None = None,
    max_seconds: float = 600,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve in a child process (its own GIL); yields the base url."""
    cmd = [sys.executable, str(Path(__file__)), "--data", str(data_dir)]
    cmd += ["--max-seconds", str(max_seconds)]
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(HERE), child_env.get("PYTHONPATH", "")] if p
    )
    child_env.pop("AGENTOS_API_TOKEN", None)
    if token is not None:
        child_env["AGENTOS_API_TOKEN"] = token
    proc = subprocess.Popen(cmd, env=child_env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = _readline(proc, 30)
        base = f"http://{HOST}:{int(line)}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        yield base
    finally:
        if proc.poll() is None:
            proc.terminate()  # uvicorn shuts down on SIGTERM, lifespan included
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    """The child's first line of output, within `timeout` seconds."""
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not out or not out[0].strip():
        raise RuntimeError("server child did not report its port")
    return out[0].strip()


def _serve_child(argv: list[str] | None = None) -> None:
    """The child: bind 127.0.0.1:0, print the port, serve until told or timed out."""
    import uvicorn

    from agentos.api.app import create_app
    from agentos.demo import registry as demo_agents
    from agentos.demo.graph import resolve_source

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=600)
    args = parser.parse_args(argv)
    sock = _bound_socket()
    app = create_app(
        args.data, agents=demo_agents, allow_agents=[ALLOW], resolve_source=resolve_source
    )
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3)
    srv = uvicorn.Server(config)
    parent = os.getppid()

    def watchdog() -> None:
        end = time.monotonic() + args.max_seconds
        while time.monotonic() < end and os.getppid() == parent:
            time.sleep(0.5)
        srv.should_exit = True

    threading.Thread(target=watchdog, daemon=True).start()
    print(sock.getsockname()[1], flush=True)
    srv.run(sockets=[sock])


# the load


@dataclass
class LoadResult:
    """What a load run saw."""

    run_ids: list[str] = field(default_factory=list)
    post_latency: list[float] = field(default_factory=list)
    get_latency: list[float] = field(default_factory=list)
    get_status: list[int] = field(default_factory=list)
    post_errors: list[str] = field(default_factory=list)
    final: dict[str, str] = field(default_factory=dict)
    post_seconds: float = 0.0
    settle_seconds: float = 0.0


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of `values`, in milliseconds."""
    if not values:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": 1000 * ordered[-1]}


async def drive_load(
    base: str,
    runs: int,
    clients: int,
    graph: str = "fast",
    deadline: float = 300,
    probers: int = 4,
    token: str | None = None,
) -> LoadResult:
    """POST `runs` runs from `clients` concurrent clients while `probers` GET random ones.

    Then polls every run until it is terminal. Everything stops by `deadline` seconds.
    """
    result = LoadResult()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    requests = [{"graph": graph, "inputs": {"i": i}} for i in range(runs)]
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in requests:
        queue.put_nowait(body)
    end = time.monotonic() + deadline
    posting = asyncio.Event()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base, timeout=30, headers=headers, limits=limits)

    async def poster() -> None:
        async with client() as c:
            while not queue.empty() and time.monotonic() < end:
                body = queue.get_nowait()
                t0 = time.perf_counter()
                res = await c.post("/runs", json=body)
                result.post_latency.append(time.perf_counter() - t0)
                if res.status_code == 200:
                    result.run_ids.append(res.json()["run_id"])
                else:
                    result.post_errors.append(f"{res.status_code} {res.text[:200]}")

    async def prober(seed: int) -> None:
        rng = random.Random(seed)
        async with client() as c:
            while not posting.is_set() and time.monotonic() < end:
                if not result.run_ids:
                    await asyncio.sleep(0.005)
                    continue
                run_id = rng.choice(result.run_ids)
                t0 = time.perf_counter()
                res = await c.get(f"/runs/{run_id}")
                result.get_latency.append(time.perf_counter() - t0)
                result.get_status.append(res.status_code)

    t0 = time.perf_counter()
    probes = [asyncio.create_task(prober(i)) for i in range(probers)]
    await asyncio.gather(*(poster() for _ in range(clients)))
    result.post_seconds = time.perf_counter() - t0
    posting.set()
    await asyncio.gather(*probes)

    pending = list(result.run_ids)
    t1 = time.perf_counter()

    async def settle(share: list[str]) -> None:
        async with client() as c:
            for run_id in share:
                while time.monotonic() < end:
                    res = await c.get(f"/runs/{run_id}")
                    status = res.json().get("status") if res.status_code == 200 else None
                    if status in TERMINAL:
                        result.final[run_id] = status
                        break
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(settle(pending[i::clients]) for i in range(clients)))
    result.settle_seconds = time.perf_counter() - t1
    return result


def summary(result: LoadResult, runs: int, clients: int) -> dict[str, Any]:
    """Throughput and latency figures of a load run."""
    probe_s = result.post_seconds or 1e-9
    return {
        "runs": runs,
        "clients": clients,
        "created": len(result.run_ids),
        "unique": len(set(result.run_ids)),
        "terminal": len(result.final),
        "succeeded": sum(1 for s in result.final.values() if s == "succeeded"),
        "post_seconds": round(result.post_seconds, 3),
        "post_per_s": round(len(result.post_latency) / probe_s, 1),
        "post_ms": {k: round(v, 1) for k, v in percentiles(result.post_latency).items()},
        "get_during_load": len(result.get_latency),
        "get_per_s": round(len(result.get_latency) / probe_s, 1),
        "get_ms": {k: round(v, 1) for k, v in percentiles(result.get_latency).items()},
        "settle_seconds": round(result.settle_seconds, 3),
    }


if __name__ == "__main__":
    _serve_child()
