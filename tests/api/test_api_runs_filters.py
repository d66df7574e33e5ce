"""GET /runs with filters, search and paging; the total in X-Total-Count."""

from __future__ import annotations

import httpx
from api_support import poll, small_graph, start_demo

QUICK = {"name": "quick", "policy": {"retry": {"max_attempts": 2}, "timeout": 5}}


async def three_runs(client: httpx.AsyncClient) -> tuple[str, str, str]:
    """Two demo runs (pr 7 and pr 8) and one run of the graph `small`, oldest first."""
    assert (await client.post("/policies", json=QUICK)).status_code == 200
    assert (await client.post("/graphs", json=small_graph())).status_code == 200
    first = await start_demo(client, pr_number=7, note="needle-in-inputs")
    await poll(client, first)
    second = await start_demo(client, pr_number=8)
    await poll(client, second)
    res = await client.post("/runs", json={"graph": "small", "inputs": {}})
    third = str(res.json()["run_id"])
    await poll(client, third)
    return first, second, third


def ids(res: httpx.Response) -> list[str]:
    assert res.status_code == 200, res.text
    return [r["run_id"] for r in res.json()]


async def test_filters_search_and_paging(client: httpx.AsyncClient) -> None:
    first, second, third = await three_runs(client)
    every = await client.get("/runs")
    assert ids(every) == [third, second, first]
    assert every.headers["x-total-count"] == "3"

    demo = await client.get("/runs", params={"graph": "git-to-prod-multi"})
    assert ids(demo) == [second, first] and demo.headers["x-total-count"] == "2"
    both = await client.get("/runs", params={"graph": "small,git-to-prod-multi"})
    assert ids(both) == [third, second, first]
    assert ids(await client.get("/runs", params={"status": "succeeded"})) == [third, second, first]
    failed = await client.get("/runs", params={"status": "failed,cancelled"})
    assert ids(failed) == [] and failed.headers["x-total-count"] == "0"

    assert ids(await client.get("/runs", params={"q": "NEEDLE-in"})) == [first]
    assert ids(await client.get("/runs", params={"q": third[-6:]})) == [third]

    page = await client.get("/runs", params={"limit": 2})
    assert ids(page) == [third, second] and page.headers["x-total-count"] == "3"
    page = await client.get("/runs", params={"limit": 2, "offset": 2})
    assert ids(page) == [first] and page.headers["x-total-count"] == "3"
    page = await client.get("/runs", params={"graph": "git-to-prod-multi", "offset": 1})
    assert ids(page) == [first] and page.headers["x-total-count"] == "2"
    assert set(every.json()[0]) >= {"run_id", "graph", "status", "events", "started"}


async def test_bad_filters_are_refused_with_one_line(client: httpx.AsyncClient) -> None:
    res = await client.get("/runs", params={"status": "succeeded,bogus"})
    assert res.status_code == 422
    detail = res.json()["detail"]
    assert "bogus" in detail and "waiting" in detail and "\n" not in detail
    for params in ({"limit": 0}, {"limit": 5000}, {"offset": -1}):
        assert (await client.get("/runs", params=params)).status_code == 422
