"""The declarative graph model: nodes, their dependencies, policies and context profiles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from agentos.context.profile import ContextProfile
from agentos.events.limits import InputDict, Int64
from agentos.graphs.policy import Budget, Policy
from agentos.graphs.problems import GraphProblem, GraphValidationError

NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
# tags of the policy union; load.py drops them from error locations
POLICY_TAGS = ("name", "inline")


def _policy_kind(value: Any) -> str:
    return "inline" if isinstance(value, dict | Policy) else "name"


PolicyRef = Annotated[
    Annotated[str, Tag("name")] | Annotated[Policy, Tag("inline")],
    Discriminator(_policy_kind),
]


#: the most passes a loop may declare: a bound, not a budget
MAX_LOOP_ITERATIONS = 10_000
#: the most items a map expands to (a longer list fails the map node)
MAX_MAP_ITEMS = 10_000
MAP_PATTERN = r"^[A-Za-z0-9_.-]+\.[A-Za-z0-9_-]+$"


class LoopSpec(BaseModel):
    """A back edge from the deciding node to `to`: when the decider chooses `to` (with
    `Next`), the nodes from `to` to the decider run again, at most `max_iterations`
    passes in all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: str = Field(pattern=NAME_PATTERN, description="the node the loop goes back to")
    max_iterations: int = Field(
        ge=1, le=MAX_LOOP_ITERATIONS, description="passes of the loop body, the first included"
    )


class NodeSpec(BaseModel):
    """One step of a graph: the agent it runs (or the signal it waits for) and the nodes
    it waits on."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(pattern=NAME_PATTERN)
    agent: str | None = Field(
        default=None,
        min_length=1,
        description="a registered name or package.module:callable (none for a wait node)",
    )
    wait: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="the signal this node waits for; its payload is the node's output",
    )
    after: list[str] = Field(default_factory=list, description="nodes that must finish first")
    policy: PolicyRef | None = Field(default=None, description="a policy name or inline policy")
    context: str | None = Field(default=None, description="a context profile name")
    params: InputDict = Field(default_factory=dict)
    description: str = ""
    loop: LoopSpec | None = Field(
        default=None,
        description="a bounded back edge this node may choose with `Next`",
        exclude_if=lambda v: v is None,  # specs without loops dump as they always did
    )
    map: str | None = Field(
        default=None,
        pattern=MAP_PATTERN,
        description="NODE.FIELD: one instance of this node per item of that list",
        exclude_if=lambda v: v is None,
    )
    max_parallel: int | None = Field(
        default=None,
        ge=1,
        le=MAX_MAP_ITEMS,
        description="at most this many instances of a map run at once",
        exclude_if=lambda v: v is None,
    )
    graph: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="a registered graph this node runs as a child run",
        exclude_if=lambda v: v is None,
    )

    @model_validator(mode="after")
    def _runs_something(self) -> NodeSpec:
        if self.agent is None and self.wait is None and self.graph is None:
            raise ValueError(f"node {self.name!r} needs an `agent` (or a `wait`, or a `graph`)")
        return self


class GraphDefaults(BaseModel):
    """Settings applied to nodes that do not set their own."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    policy: PolicyRef | None = None


class GraphSpec(BaseModel):
    """A named graph of nodes with its policies, context profiles and budget."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    version: Int64 = 1
    nodes: list[NodeSpec] = Field(min_length=1)
    policies: dict[str, Policy] = Field(default_factory=dict)
    context_profiles: dict[str, ContextProfile] = Field(default_factory=dict)
    defaults: GraphDefaults = Field(default_factory=GraphDefaults)
    budget: Budget | None = None
    inputs: InputDict = Field(
        default_factory=dict, description="default run inputs, overridden by a run's own"
    )
    workspace: str | None = Field(
        default=None,
        description="the input naming a source directory copied into each run's workspace",
    )

    def node(self, name: str) -> NodeSpec:
        """The node called `name`; KeyError if the graph has none."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"graph {self.name!r} has no node {name!r}")

    def policy_for(self, name: str) -> Policy:
        """The node's policy: inline, else named, else the graph default, else `Policy()`."""
        ref = self.node(name).policy
        where = f"node {name!r}"
        if ref is None:
            ref, where = self.defaults.policy, "defaults"
        if ref is None:
            return Policy()
        if isinstance(ref, Policy):
            return ref
        if ref not in self.policies:
            raise GraphValidationError([GraphProblem(where, f"unknown policy {ref!r}")])
        return self.policies[ref]

    def profile_for(self, name: str) -> ContextProfile | None:
        """The node's context profile, or None when it names none."""
        ref = self.node(name).context
        if ref is None:
            return None
        if ref not in self.context_profiles:
            problem = GraphProblem(f"node {name!r}", f"unknown context profile {ref!r}")
            raise GraphValidationError([problem])
        return self.context_profiles[ref]


def resolve(
    spec: GraphSpec,
    policies: Mapping[str, Policy] = {},
    profiles: Mapping[str, ContextProfile] = {},
) -> GraphSpec:
    """A self-contained copy of `spec` holding every named policy and profile it uses."""
    own_policies = dict(spec.policies)
    own_profiles = dict(spec.context_profiles)
    problems: list[GraphProblem] = []
    refs: list[tuple[str, str | Policy | None]] = [("defaults.policy", spec.defaults.policy)]
    refs += [(f"nodes[{i}].policy", n.policy) for i, n in enumerate(spec.nodes)]
    for where, ref in refs:
        if not isinstance(ref, str) or ref in own_policies:
            continue
        if ref in policies:
            own_policies[ref] = policies[ref]
        else:
            problems.append(GraphProblem(where, f"unknown policy {ref!r}"))
    for i, node in enumerate(spec.nodes):
        name = node.context
        if name is None or name in own_profiles:
            continue
        if name in profiles:
            own_profiles[name] = profiles[name]
        else:
            problems.append(
                GraphProblem(f"nodes[{i}].context", f"unknown context profile {name!r}")
            )
    if problems:
        raise GraphValidationError(problems)
    return spec.model_copy(update={"policies": own_policies, "context_profiles": own_profiles})
