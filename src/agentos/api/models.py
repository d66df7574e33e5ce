"""Request and response bodies of the control plane API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from agentos.context.profile import ContextProfile
from agentos.graphs.policy import Budget, Policy
from agentos.state.run_state import ReplayOrigin


class Health(BaseModel):
    """The server is up."""

    ok: bool = True
    version: str


class Ok(BaseModel):
    """A registration was stored."""

    ok: bool = True
    name: str


class PolicyRegistration(BaseModel):
    """POST /policies: a named node policy."""

    name: str = Field(description="the name graphs refer to")
    policy: Policy


class ProfileRegistration(BaseModel):
    """POST /contextprofiles: a named context profile."""

    name: str = Field(description="the name nodes refer to")
    profile: ContextProfile


class GraphSummary(BaseModel):
    """One registered graph."""

    name: str
    description: str
    version: int
    nodes: list[str]


class RunRequest(BaseModel):
    """POST /runs: which graph to run with which inputs."""

    graph: str = Field(examples=["git-to-prod-multi"])
    inputs: dict[str, Any] = Field(default_factory=dict, examples=[{"pr_number": 42}])
    budget: Budget | None = Field(default=None, description="overrides the graph's budget")


class RunAccepted(BaseModel):
    """A run was created and executes in the background."""

    ok: bool = True
    run_id: str
    status: str = Field(examples=["pending"])


class ReplayRequest(BaseModel):
    """POST /runs/{id}/replay: the step to fork from, a node name or an event seq."""

    from_step: str | int = Field(examples=["tester"])


class ReplayAccepted(RunAccepted):
    """A replay run was forked and executes in the background."""

    replayed_from: ReplayOrigin


class RunSummary(BaseModel):
    """One line of the runs list."""

    run_id: str
    graph: str
    status: str
    events: int
    started: datetime | None
    duration: float | None = Field(description="seconds from start to end (or to now)")
    replayed_from: str | None = None


class EventList(BaseModel):
    """A run's events, filtered."""

    run_id: str
    last_seq: int = Field(description="the run's last seq when read")
    count: int
    events: list[dict[str, Any]]


class Problem(BaseModel):
    """One reason a graph was refused."""

    where: str
    message: str


class Problems(BaseModel):
    """Every problem of a refused graph."""

    problems: list[Problem]


class GraphRefused(BaseModel):
    """422 of POST /graphs: the graph was not registered."""

    detail: Problems
