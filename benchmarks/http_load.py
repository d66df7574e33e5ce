"""HTTP load: runs created by concurrent clients through a real server on loopback.

Run: `.venv/bin/python benchmarks/http_load.py [--runs 1000] [--clients 50] [--json]`

Starts `agentos` (uvicorn, one process) on 127.0.0.1 with a fresh data dir, registers a
two-node no-op graph with POST /graphs, then `--clients` httpx clients POST /runs over a
fixed list of `--runs` requests while 4 more clients GET /runs/{id} of runs already
created; then every run is polled until it ends. Prints requests per second and latency
percentiles of POST /runs and of GET /runs/{id} during the load. The store is durable
(fsync) unless `--no-fsync`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))
from rel_http_server import drive_load, fast_graph, process_server, summary


def measure(runs: int, clients: int, fsync: bool, deadline: float) -> dict[str, Any]:
    """One load run against a fresh server; its summary."""
    with tempfile.TemporaryDirectory(prefix="agentos-http-load-") as tmp:
        env = {"AGENTOS_FSYNC": "1" if fsync else "0"}
        with process_server(Path(tmp) / "data", env=env, max_seconds=deadline + 60) as base:
            res = httpx.post(f"{base}/graphs", json=fast_graph(), timeout=30)
            res.raise_for_status()
            result = asyncio.run(drive_load(base, runs, clients, deadline=deadline))
            listed = httpx.get(f"{base}/runs", timeout=60).json()
        out = summary(result, runs, clients)
        out["listed"] = len(listed)
        out["fsync"] = fsync
        out["machine"] = f"nproc={os.cpu_count()}, Python {platform.python_version()}"
        return out


def main() -> None:
    """Parse the options, run the load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=300, help="seconds, overall")
    parser.add_argument("--no-fsync", action="store_true", help="AGENTOS_FSYNC=0")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    out = measure(args.runs, args.clients, not args.no_fsync, args.deadline)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{out['runs']} runs, {out['clients']} clients, fsync={out['fsync']}, {out['machine']}")
    print(
        f"created {out['created']} (unique {out['unique']}), listed {out['listed']}, "
        f"terminal {out['terminal']}, succeeded {out['succeeded']}"
    )
    print("| request (GET: during the load) | count | req/s | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, count, rate, ms in [
        ("POST /runs", out["created"], out["post_per_s"], out["post_ms"]),
        ("GET /runs/{id} (during)", out["get_during_load"], out["get_per_s"], out["get_ms"]),
    ]:
        print(
            f"| {name} | {count} | {rate} | {ms['p50']} | {ms['p90']} | {ms['p99']} | {ms['max']} |"
        )
    print(f"posting took {out['post_seconds']} s; every run ended {out['settle_seconds']} s later")


if __name__ == "__main__":
    main()
