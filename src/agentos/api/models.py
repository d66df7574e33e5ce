"""Request and response bodies of the control plane API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentos.context.profile import ContextProfile
from agentos.events.limits import InputDict
from agentos.graphs.policy import Budget, Policy
from agentos.routing.pool import ProviderPool
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
    inputs: InputDict = Field(default_factory=dict, examples=[{"pr_number": 42}])
    budget: Budget | None = Field(default=None, description="overrides the graph's budget")


class RunAccepted(BaseModel):
    """A run was created and executes in the background."""

    ok: bool = True
    run_id: str
    status: str = Field(examples=["pending"])


class ReplayRequest(BaseModel):
    """POST /runs/{id}/replay: the step to fork from, a node name or an event seq."""

    from_step: str | int = Field(examples=["tester"])
    model: str | None = Field(
        default=None,
        pattern=r"^[^/]+/.+$",
        description="what-if: every call the replay sends goes to this provider/model",
        examples=["simA/sim-mid"],
    )
    pool: ProviderPool | None = Field(
        default=None,
        description="what-if: the replay's calls route through this pool (a POST "
        "/providerpool document), as the router picks, or to `model` of it",
    )


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


class CorruptRunSummary(RunSummary):
    """One line of the runs list for a run whose log cannot be read: status `corrupt`."""

    error: str = Field(description="the log file (in the data dir), the line, what is wrong")


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


class Detail(BaseModel):
    """A refused request (4xx): why, in one sentence."""

    detail: str


class FieldError(BaseModel):
    """One invalid field of a request."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """422 of a request whose fields do not validate."""

    detail: list[FieldError]


Unprocessable = InvalidRequest | GraphRefused | Detail
"""Every 422 body: invalid fields, a refused graph, or a refused name or step."""

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": Unprocessable, "description": "the request cannot be processed"},
    "4XX": {"model": Detail, "description": "the request was refused"},
}
"""The 4xx bodies every route may return, for the OpenAPI schema."""


def _json(*models: type[BaseModel]) -> dict[str, Any]:
    refs = [{"$ref": f"#/components/schemas/{m.__name__}"} for m in models]
    schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return {"content": {"application/json": {"schema": schema}}}


HTML_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": spec["description"],
        **_json(*((InvalidRequest, GraphRefused, Detail) if code == 422 else (Detail,))),
    }
    for code, spec in ERROR_RESPONSES.items()
}
"""ERROR_RESPONSES of routes that answer HTML: their errors are JSON all the same."""
