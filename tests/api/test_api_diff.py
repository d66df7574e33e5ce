"""GET /runs/{a}/diff/{b} and its dashboard page on real demo runs; replay steps given
as strings, and the 422 that lists the steps a run has."""

from __future__ import annotations

import re

import httpx
from api_support import poll, start_demo

from agentos.state.diff import RunDiff


async def replayed(client: httpx.AsyncClient, source: str, step: object) -> str:
    res = await client.post(f"/runs/{source}/replay", json={"from_step": step})
    assert res.status_code == 200, res.text
    run_id = str(res.json()["run_id"])
    await poll(client, run_id)
    return run_id


async def test_a_replay_against_its_source(client: httpx.AsyncClient) -> None:
    source = await start_demo(client)
    await poll(client, source)
    replay = await replayed(client, source, "tester")
    res = await client.get(f"/runs/{source}/diff/{replay}")
    assert res.status_code == 200, res.text
    diff = RunDiff.model_validate(res.json())
    assert diff.a.run_id == source and diff.b.replayed_from == source
    assert all(s.ran == "both" for s in diff.steps if s.a and s.a.ran)
    assert diff.diverged is not None and diff.diverged.b is not None
    assert diff.diverged.b.type == "replayed_from"
    # the page of the replay links to this diff, and the diff page shows every step
    page = (await client.get(f"/dashboard/runs/{replay}")).text
    assert f'href="/dashboard/diff/{source}/{replay}"' in page
    html = (await client.get(f"/dashboard/diff/{source}/{replay}")).text
    for step in diff.steps:
        assert f'data-step="{step.step}"' in html
    assert f"the logs diverge at seq {diff.diverged.seq}" in html


async def test_two_runs_with_other_inputs_differ(client: httpx.AsyncClient) -> None:
    first = await start_demo(client, pr_number=42)
    second = await start_demo(client, pr_number=7)
    await poll(client, first)
    await poll(client, second)
    diff = RunDiff.model_validate((await client.get(f"/runs/{first}/diff/{second}")).json())
    assert not diff.same
    assert diff.diverged is not None and diff.diverged.seq == 1  # the inputs differ
    changed = [s for s in diff.steps if "output" in s.changes]
    assert changed and all(s.output for s in changed)
    same = RunDiff.model_validate((await client.get(f"/runs/{first}/diff/{first}")).json())
    assert same.same and same.diverged is None


async def test_unknown_runs_are_404(client: httpx.AsyncClient) -> None:
    source = await start_demo(client)
    await poll(client, source)
    for path in (f"/runs/{source}/diff/nope", f"/runs/nope/diff/{source}"):
        res = await client.get(path)
        assert res.status_code == 404 and "unknown run 'nope'" in res.json()["detail"]
    assert (await client.get(f"/dashboard/diff/{source}/nope")).status_code == 404


async def test_replay_from_a_seq_given_as_a_string(client: httpx.AsyncClient) -> None:
    source = await start_demo(client)
    await poll(client, source)
    replay = await replayed(client, source, "4")
    state = (await client.get(f"/runs/{replay}")).json()
    assert state["replayed_from"]["from_seq"] == 4 and state["replayed_from"]["from_step"] == "4"


async def test_the_422_of_an_unknown_step_lists_the_steps(client: httpx.AsyncClient) -> None:
    source = await start_demo(client)
    await poll(client, source)
    events = (await client.get(f"/runs/{source}/events")).json()["last_seq"]
    for step in ("nowhere", "99999", 99999):
        res = await client.post(f"/runs/{source}/replay", json={"from_step": step})
        assert res.status_code == 422
        detail = res.json()["detail"]
        assert f"steps: a seq 1..{events} or a node it started: planner, " in detail, detail
        assert re.search(r"\btester\b", detail)
    assert (await client.get("/runs")).headers["x-total-count"] == "1"  # nothing forked
