"""`agentos serve` is safe by default, served for real: it makes a token (kept in the data
dir, mode 0600) and prints it once in the dashboard URL, never in a log; it refuses other
Hosts and unlisted agent import paths; `--no-auth` works on a loopback bind only."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from rel_http_server import HERE, HOST, fast_graph

from agentos.api.auth import server_token, token_file
from agentos.cli import cli

SCRIPT = Path(sys.executable).parent / "agentos"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    """A running `agentos serve`: its base url, first line, and (after exit) its output."""

    base: str
    first_line: str
    output: list[str] = field(default_factory=list)


@contextmanager
def serve(data: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Run `agentos --data DATA serve --port P ARGS` (access log on) until the block ends;
    then `output` holds everything it wrote to stdout and stderr."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
    child_env |= {"PYTHONUNBUFFERED": "1", "AGENTOS_FSYNC": "0", "NO_COLOR": "1"}
    child_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(HERE), os.environ.get("PYTHONPATH")])
    )
    child_env |= env or {}
    cmd = [str(SCRIPT), "--data", str(data), "serve", "--port", str(port), *args]
    proc = subprocess.Popen(
        cmd, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert proc.stdout is not None
        served = Served(f"http://{HOST}:{port}", proc.stdout.readline().strip())
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{served.base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield served
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        if "served" in locals():
            served.output = [served.first_line, *out.splitlines()]


def test_serve_makes_a_private_token_and_prints_it_once_never_in_a_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(data) as served:
        path = token_file(data)
        token = path.read_text().strip()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(token) >= 40
        assert served.first_line == f"dashboard: {served.base}/dashboard?token={token}"
        with httpx.Client(base_url=served.base, timeout=10) as client:
            assert client.get("/runs").status_code == 401
            assert client.get("/openapi.json").status_code == 401
            auth = {"Authorization": f"Bearer {token}"}
            assert client.get("/runs", headers=auth).status_code == 200
            assert client.get("/runs", params={"token": token}).status_code == 401
            res = client.get("/dashboard", params={"token": token})
            assert res.status_code == 200 and "agentos_token" in res.headers["set-cookie"]
    logged = served.output[1:]
    assert any('"GET /dashboard?token=***' in line for line in logged), logged
    assert not any(token in line for line in logged), logged
    # a second start keeps the token
    with serve(data) as again:
        assert again.first_line == f"dashboard: {again.base}/dashboard?token={token}"


def test_the_env_token_wins_and_other_hosts_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"AGENTOS_API_TOKEN": "from-the-env-0123456789"}
    with serve(data, env=env) as served, httpx.Client(base_url=served.base, timeout=10) as c:
        assert not token_file(data).exists()
        auth = {"Authorization": "Bearer from-the-env-0123456789"}
        assert c.get("/runs", headers=auth).status_code == 200
        for host in ("evil.example", f"evil.example:{served.base.rsplit(':', 1)[1]}"):
            res = c.get("/runs", headers=auth | {"Host": host})
            assert res.status_code == 403, host
            assert c.get("/health", headers={"Host": host}).status_code == 403
        assert c.get("/runs", headers=auth | {"Host": "localhost"}).status_code == 200


def test_allowed_hosts_add_names(tmp_path: Path) -> None:
    with (
        serve(tmp_path / "data", "--no-auth", "--allowed-hosts", "agentos.test,*.lan") as served,
        httpx.Client(base_url=served.base, timeout=10) as c,
    ):
        for host in ("agentos.test", "box.lan", "127.0.0.1"):
            assert c.get("/runs", headers={"Host": host}).status_code == 200, host
        assert c.get("/runs", headers={"Host": "lan"}).status_code == 403


def test_agents_over_http_come_from_the_allow_list(tmp_path: Path) -> None:
    with (
        serve(tmp_path / "a", "--no-auth") as served,
        httpx.Client(base_url=served.base, timeout=10) as c,
    ):
        res = c.post("/graphs", json=fast_graph())
        assert res.status_code == 403
        assert "--allow-agents 'rel_http_server:*'" in res.json()["detail"]
        os_graph = fast_graph(agent="os:system")
        assert c.post("/graphs", json=os_graph).status_code == 403
        assert c.post("/graphs", json=fast_graph(agent="demo.tester")).status_code == 200
    with (
        serve(tmp_path / "b", "--no-auth", "--allow-agents", "rel_http_server:*") as served,
        httpx.Client(base_url=served.base, timeout=10) as c,
    ):
        assert c.post("/graphs", json=fast_graph()).status_code == 200
        assert c.post("/graphs", json=fast_graph(agent="os:system")).status_code == 403
    env = {"AGENTOS_ALLOW_AGENTS": "json:*, rel_http_server:noop"}
    with (
        serve(tmp_path / "c", "--no-auth", env=env) as served,
        httpx.Client(base_url=served.base, timeout=10) as c,
    ):
        assert c.post("/graphs", json=fast_graph()).status_code == 200
        hostile = fast_graph(agent="rel_http_server:hostile_fail")
        assert c.post("/graphs", json=hostile).status_code == 403


def test_no_auth_serves_anonymous_clients_on_loopback_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(data, "--no-auth") as served:
        assert served.first_line == f"dashboard: {served.base}/dashboard"
        assert httpx.get(f"{served.base}/runs", timeout=10).status_code == 200
    assert not token_file(data).exists()
    for host in ("0.0.0.0", "192.0.2.1", "::", "example.com"):
        res = CliRunner().invoke(cli, ["--data", str(data), "serve", "--no-auth", "--host", host])
        assert res.exit_code == 2, res.output
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "--no-auth" in lines[0] and "loopback" in lines[0], lines
        assert "Traceback" not in res.output


def test_the_token_file_is_private_from_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)
    old = os.umask(0)
    try:
        token = server_token(tmp_path / "new")
    finally:
        os.umask(old)
    path = token_file(tmp_path / "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [".api-token"]
    assert server_token(tmp_path / "new") == token
    path.chmod(0o644)
    assert server_token(tmp_path / "new") == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("AGENTOS_API_TOKEN", "env-token")
    assert server_token(tmp_path / "new") == "env-token"
