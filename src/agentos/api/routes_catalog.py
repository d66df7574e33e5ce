"""What the catalog holds: `GET /policies`, `/contextprofiles`, `/providerpool` (the
POSTs of the same paths register them, in routes_resources)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from agentos.api.routes_resources import fresh
from agentos.context.profile import ContextProfile
from agentos.graphs.policy import Policy
from agentos.routing.pool import ProviderPool

router = APIRouter(tags=["resources"])


@router.get("/policies", response_model=dict[str, Policy])
async def list_policies(request: Request) -> dict[str, Policy]:
    """The named policies graphs may refer to, by name: the shipped graph's and those
    registered with POST /policies."""
    policies = (await fresh(request)).catalog.policies
    return {name: policies[name] for name in sorted(policies)}


@router.get("/contextprofiles", response_model=dict[str, ContextProfile])
async def list_profiles(request: Request) -> dict[str, ContextProfile]:
    """The named context profiles nodes may use, by name."""
    profiles = (await fresh(request)).catalog.profiles
    return {name: profiles[name] for name in sorted(profiles)}


@router.get("/providerpool", response_model=ProviderPool)
async def get_provider_pool(request: Request) -> ProviderPool:
    """The provider pool new runs route their model calls through: the default
    simulated pool until POST /providerpool replaces it. Keys are never part of it,
    only the names of the variables that hold them."""
    return (await fresh(request)).catalog.pool
