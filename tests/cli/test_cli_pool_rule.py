"""One rule for the provider pool of `agentos demo` and `agentos run`: --pool (or
$AGENTOS_POOL) if given, else the pool registered in the data dir (POST /providerpool)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Invoke, run_ids

from agentos.graphs.catalog import Catalog
from agentos.routing.pool import ProviderPool, ProviderSpec, default_pool


def one_provider(name: str) -> ProviderPool:
    """The default pool's models, all offered by one provider called `name`."""
    models = {m.name: m for p in default_pool().providers for m in p.models}
    spec = ProviderSpec(name=name, models=list(models.values()), latency_scale=0)
    return ProviderPool(providers=[spec])


def providers_called(invoke: Invoke, run_id: str) -> set[str]:
    out = invoke("events", run_id, "--json", "--type", "model_called").stdout
    return {json.loads(line)["data"]["provider"] for line in out.splitlines()}


def test_demo_and_run_route_through_the_registered_pool(
    invoke: Invoke, data: Path, tmp_path: Path
) -> None:
    data.mkdir()
    Catalog(data).set_pool(one_provider("registered"))
    assert invoke("demo").exit_code == 0
    assert invoke("run", "git-to-prod-multi", "--input", "pr_number=7").exit_code == 0
    runs = run_ids(data)
    assert len(runs) == 2
    for run_id in runs:
        assert providers_called(invoke, run_id) == {"registered"}
    pool_file = tmp_path / "pool.json"
    pool_file.write_text(one_provider("from-file").model_dump_json())
    assert invoke("demo", "--pool", str(pool_file)).exit_code == 0
    (third,) = set(run_ids(data)) - set(runs)
    assert providers_called(invoke, third) == {"from-file"}
