"""GET /policies, /contextprofiles and /providerpool show what is registered."""

from __future__ import annotations

import httpx
from api_support import OpenClient

from agentos.routing.pool import default_pool

QUICK = {"name": "quick", "policy": {"retry": {"max_attempts": 2}, "timeout": 5}}
PROFILE = {"name": "tiny", "profile": {"budget": 500}}


async def test_what_is_registered_is_shown(client: httpx.AsyncClient) -> None:
    policies = (await client.get("/policies")).json()
    assert "quick" not in policies and policies  # the shipped graph's policies
    assert (await client.post("/policies", json=QUICK)).status_code == 200
    policies = (await client.get("/policies")).json()
    assert policies["quick"]["retry"]["max_attempts"] == 2 and policies["quick"]["timeout"] == 5
    assert list(policies) == sorted(policies)

    res = await client.post("/contextprofiles", json=PROFILE)
    assert res.status_code == 200, res.text
    profiles = (await client.get("/contextprofiles")).json()
    assert profiles["tiny"]["budget"] == 500

    pool = (await client.get("/providerpool")).json()
    assert pool == default_pool().model_dump(mode="json")
    mine = default_pool().model_dump(mode="json")
    mine["providers"] = mine["providers"][:1]
    assert (await client.post("/providerpool", json=mine)).status_code == 200
    assert (await client.get("/providerpool")).json() == mine


async def test_they_survive_a_restart_and_need_the_token(open_client: OpenClient) -> None:
    async with open_client(token="s3cret") as c:
        auth = {"Authorization": "Bearer s3cret"}
        assert (await c.post("/policies", json=QUICK, headers=auth)).status_code == 200
        for path in ("/policies", "/contextprofiles", "/providerpool"):
            assert (await c.get(path)).status_code == 401
    async with open_client(token="s3cret") as c:
        got = await c.get("/policies", headers={"Authorization": "Bearer s3cret"})
        assert got.json()["quick"]["timeout"] == 5
