"""The dashboard pages (escaping included) and the optional bearer token."""

from __future__ import annotations

import httpx
from api_support import OpenClient, poll, start_demo

HOSTILE = "<script>alert(1)</script>"


async def test_dashboard_lists_runs_with_a_start_form(client: httpx.AsyncClient) -> None:
    run_id = await start_demo(client)
    await poll(client, run_id)
    res = await client.get("/dashboard")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    page = res.text
    assert f'href="/dashboard/runs/{run_id}"' in page
    assert f'href="/runs/{run_id}/events"' in page
    assert 'id="start-form"' in page and "git-to-prod-multi" in page
    assert "/static/app.js" in page and "/static/style.css" in page
    assert (await client.get("/static/app.js")).status_code == 200
    assert (await client.get("/static/style.css")).status_code == 200


async def test_run_page_shows_graph_timeline_manifests_and_models(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_demo(client)
    await poll(client, run_id)
    page = (await client.get(f"/dashboard/runs/{run_id}")).text
    for node in ("planner", "py_fixer", "fe_fixer", "test_writer", "aggregator", "tester"):
        assert f'data-node="{node}"' in page
    assert page.count('class="gnode s-succeeded"') == 8
    assert page.count('class="bar s-succeeded"') == 8
    assert page.count('class="manifest"') == 8
    assert "cheapest model" in page  # the router's reason
    assert 'id="replay-form"' in page and '<option value="tester">' in page
    panel = await client.get(f"/dashboard/runs/{run_id}/panel")
    assert panel.status_code == 200 and "<html" not in panel.text
    assert 'data-status="succeeded"' in panel.text


async def test_hostile_values_are_escaped(client: httpx.AsyncClient) -> None:
    run_id = await start_demo(client, note=HOSTILE, **{HOSTILE: "x"})
    await poll(client, run_id)
    page = (await client.get(f"/dashboard/runs/{run_id}")).text
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    panel = (await client.get(f"/dashboard/runs/{run_id}/panel")).text
    assert HOSTILE not in panel


async def test_token_is_required_when_set(open_client: OpenClient) -> None:
    async with open_client(token="s3cret") as client:
        assert (await client.get("/health")).status_code == 200
        for method, path in [
            ("GET", "/runs"),
            ("POST", "/runs"),
            ("GET", "/graphs"),
            ("POST", "/policies"),
            ("GET", "/dashboard"),
            ("GET", "/runs/x/events/stream"),
        ]:
            res = await client.request(method, path, json={})
            assert res.status_code == 401, (method, path)
            assert res.headers["www-authenticate"] == "Bearer"
        wrong = {"Authorization": "Bearer nope"}
        assert (await client.get("/runs", headers=wrong)).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        assert (await client.get("/runs", headers=right)).status_code == 200
        res = await client.post(
            "/runs", headers=right, json={"graph": "git-to-prod-multi", "inputs": {}}
        )
        assert res.status_code == 200
        client.headers.update(right)
        assert (await poll(client, res.json()["run_id"]))[-1] == "succeeded"


async def test_dashboard_token_in_the_url_sets_a_cookie(open_client: OpenClient) -> None:
    async with open_client(token="s3cret") as client:
        assert (await client.get("/dashboard?token=nope")).status_code == 401
        assert (await client.get("/runs?token=s3cret")).status_code == 401  # pages only
        res = await client.get("/dashboard?token=s3cret")
        assert res.status_code == 200
        cookie = res.headers["set-cookie"]
        assert "agentos_token=s3cret" in cookie and "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
        assert (await client.get("/runs")).status_code == 200  # the client kept the cookie
