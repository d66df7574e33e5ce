"""A throwaway PostgreSQL cluster for the tests, or the server `AGENTOS_TEST_POSTGRES_URL` names.

The cluster lives in a temp dir (`initdb`, then `pg_ctl start` on a free loopback port
with its unix socket in the same dir); as root its commands run as the `postgres` user.
Each test gets a schema of its own in one database: a store sees only that schema.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

#: why the Postgres tests cannot run here (None: they can)
Unavailable = str | None


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: `pg_config --bindir`, else Debian's 15 or newer."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A running cluster (or an external server) that hands out fresh schemas."""

    def __init__(self, base_url: str, restart: Callable[[], None] | None = None) -> None:
        self.base_url = base_url
        self._names = itertools.count(1)
        #: restart the server (fast shutdown, start again); None for an external one
        self.restart = restart

    def fresh_url(self) -> str:
        """The URL of a new, empty schema (a store migrates it on first use)."""
        import psycopg

        schema = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in self.base_url else "?"
        return f"{self.base_url}{sep}options={quote(f'-csearch_path={schema}')}"


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def cluster() -> Iterator[Cluster | str]:
    """A cluster to test against, or the reason there is none."""
    external = os.environ.get("AGENTOS_TEST_POSTGRES_URL")
    if external:
        yield Cluster(external)
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        yield "psycopg is not installed (pip install 'agentos[postgres]')"
        return
    bindir = find_bindir()
    if bindir is None:
        yield (
            "no PostgreSQL binaries (initdb, pg_ctl) found; install postgresql"
            " or set AGENTOS_TEST_POSTGRES_URL"
        )
        return
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        yield "running as root without runuser: cannot start PostgreSQL as the postgres user"
        return
    tmp = Path(tempfile.mkdtemp(prefix="agentos-pg-"))
    data, sock = tmp / "data", tmp
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    port = _free_port()
    try:
        init = subprocess.run(
            _as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            yield f"initdb failed: {init.stderr.strip()[-300:]}"
            return
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c max_connections=200"
        start = subprocess.run(
            _as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    opts,
                    "-w",
                    "-l",
                    str(tmp / "log"),
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if start.returncode != 0:
            log = (tmp / "log").read_text() if (tmp / "log").exists() else start.stderr
            yield f"pg_ctl start failed: {log.strip()[-300:]}"
            return

        def restart() -> None:
            pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w"]
            subprocess.run(
                _as_postgres([*pg_ctl, "-m", "fast", "-l", str(tmp / "log"), "restart"]),
                capture_output=True,
                check=True,
            )

        try:
            yield Cluster(f"postgresql://postgres@127.0.0.1:{port}/postgres", restart)
        finally:
            subprocess.run(
                _as_postgres(
                    [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
                ),
                capture_output=True,
                check=False,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
