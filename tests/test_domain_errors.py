"""Domain conditions raise specific AgentOS errors (still ValueErrors where they were), and
the CLI maps them to bad input; a plain ValueError stays a failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentos import (
    AgentRegistry,
    InMemoryEventStore,
    InvalidEventError,
    InvalidInputError,
    InvalidNameError,
    RunExistsError,
    Supervisor,
    UnknownGraphError,
    evolve,
)
from agentos._names import safe_name
from agentos.cli.errors import USAGE, explain
from agentos.events.model import Envelope, RunStarted, utcnow
from agentos.graphs.catalog import Catalog
from agentos.state.run_state import RunState

GRAPH = {"name": "one", "nodes": [{"name": "a", "agent": "noop"}]}


def _agents() -> AgentRegistry:
    agents = AgentRegistry()
    agents.register("noop", lambda ctx: {})
    return agents


async def test_a_taken_run_id_and_bad_inputs_raise_specific_errors() -> None:
    store = InMemoryEventStore()
    async with Supervisor.start(GRAPH, store, agents=_agents()) as sup:
        await sup.run(run_id="fixed", timeout=10)
        with pytest.raises(RunExistsError, match="already exists"):
            await sup.start_run(run_id="fixed")
        with pytest.raises(InvalidNameError, match="invalid run id"):
            await sup.start_run(run_id="../escape")
        with pytest.raises(InvalidInputError, match="must be JSON"):
            await sup.start_run({"x": object()})
    assert len(await store.read_all("fixed")) > 0


def test_names_registry_and_catalog_raise_specific_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError):
        safe_name("..")
    with pytest.raises(InvalidInputError, match="must not be empty"):
        AgentRegistry().register("", lambda ctx: {})
    catalog = Catalog(tmp_path, _agents())
    with pytest.raises(UnknownGraphError, match="unknown graph 'nope'") as raised:
        catalog.graph("nope")
    assert isinstance(raised.value, KeyError)  # callers that catch KeyError still do


def test_an_event_out_of_order_is_an_invalid_event() -> None:
    event: Envelope = RunStarted(seq=5, run_id="r", ts=utcnow())
    with pytest.raises(InvalidEventError, match="does not follow"):
        evolve(RunState(), event)


@pytest.mark.parametrize(
    "error", [InvalidInputError("bad input"), RunExistsError("run r already exists")]
)
def test_the_cli_reports_domain_errors_as_bad_input(error: Exception) -> None:
    shown = explain(error)
    assert shown.exit_code == USAGE and shown.message == str(error)


def test_the_cli_reports_a_plain_value_error_as_a_failure() -> None:
    shown: Any = explain(ValueError("a bug"))
    assert shown.exit_code == 1 and "ValueError: a bug" in shown.message
