"""The research-report example's agents, called directly with the contexts a run gives
them, and its two graph files (examples/research-report.yaml, examples/notify-team.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentos.actors.node_context import Next, NodeContext
from agentos.demo import registry
from agentos.demo import research as r
from agentos.demo._agent import DemoAgentError
from agentos.graphs import check, load_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOPIC = "solar power, wind power and grid batteries"


def context(
    node: str,
    outputs: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    item: Any = None,
    index: int | None = None,
) -> NodeContext:
    """The context of one attempt; `item` and `index` as a map instance gets them."""
    return NodeContext(
        run_id="run-research",
        node=node,
        attempt=1,
        inputs=inputs or {},
        outputs=outputs or {},
        upstream={},
        params=params or {},
        item=item,
        index=index,
    )


@pytest.mark.parametrize(
    ("topic", "count"),
    [
        (TOPIC, 3),
        ("tides and waves", 2),
        ("a, b, c, d; e", 5),
        ("quantum computing", 3),  # one aspect: three angles on it
        ("   ", 0),  # nothing to research: the map has no instance
    ],
)
async def test_the_planner_decides_how_many_questions(topic: str, count: int) -> None:
    out = await r.planner(context("planner", inputs={"topic": topic}))
    assert len(out["questions"]) == out["count"] == count
    assert len(set(out["questions"])) == count
    assert out["topic"] == topic.strip()


async def test_the_planner_asks_about_each_aspect() -> None:
    out = await r.planner(context("planner", inputs={"topic": TOPIC}))
    assert out["questions"] == [
        "What is known about solar power?",
        "What is known about wind power?",
        "What is known about grid batteries?",
    ]
    capped = await r.planner(
        context("planner", inputs={"topic": TOPIC}, params={"max_questions": 2})
    )
    assert capped["questions"] == out["questions"][:2]


async def test_the_planner_refuses_bad_input() -> None:
    with pytest.raises(DemoAgentError, match="input topic must be a string"):
        await r.planner(context("planner", inputs={"topic": ["x"]}))
    with pytest.raises(DemoAgentError, match="param max_questions"):
        await r.planner(context("planner", inputs={"topic": "x"}, params={"max_questions": 0}))


async def test_a_researcher_answers_its_item() -> None:
    questions = r.questions(TOPIC)
    outs = [
        await r.researcher(context("researcher", item=q, index=i)) for i, q in enumerate(questions)
    ]
    assert [(o["index"], o["question"]) for o in outs] == list(enumerate(questions))
    assert all(
        o["sources"][0].startswith(f"https://example.org/q{i + 1}/") for i, o in enumerate(outs)
    )
    again = await r.researcher(context("researcher", item=questions[1], index=1))
    assert again == outs[1]  # deterministic


async def test_a_researcher_needs_a_map_item() -> None:
    with pytest.raises(DemoAgentError, match="needs a map item: set `map:`"):
        await r.researcher(context("researcher"))
    with pytest.raises(DemoAgentError, match="item 0 is not a question"):
        await r.researcher(context("researcher", item={"q": 1}, index=0))


async def research(topic: str) -> dict[str, Any]:
    """The outputs of planner and researchers, as the writer sees them."""
    plan = await r.planner(context("planner", inputs={"topic": topic}))
    found = [
        await r.researcher(context("researcher", item=q, index=i))
        for i, q in enumerate(plan["questions"])
    ]
    return {"planner": plan, "researcher": found}


async def test_the_reviewer_sends_the_first_draft_back_and_approves_the_second() -> None:
    outputs = await research(TOPIC)
    first = await r.writer(context("writer", outputs))
    assert first["draft"] == 1 and first["addressed"] == []
    assert first["sections"] == outputs["planner"]["questions"]  # item order
    review = await r.reviewer(context("reviewer", {**outputs, "writer": first}))
    assert isinstance(review, Next) and review.nodes == ["writer"]
    assert review.output["approved"] is False and len(review.output["comments"]) == 2
    # the next pass: the writer sees its draft and the review of the pass before
    second = await r.writer(
        context("writer", {**outputs, "writer": first, "reviewer": review.output})
    )
    assert second["draft"] == 2 and second["addressed"] == review.output["comments"]
    assert second["sections"][0] == "Summary"
    assert "3 of 3 questions answered." in second["text"]
    assert "[Q1]" in second["text"] and "[Q3]" in second["text"]
    approved = await r.reviewer(context("reviewer", {**outputs, "writer": second}))
    assert approved.nodes == ["approval"]
    assert approved.output == {"draft": 2, "approved": True, "comments": []}


async def test_the_writer_marks_a_failed_instance() -> None:
    outputs = await research("tides and waves")
    outputs["researcher"] = [None, outputs["researcher"][1]]
    draft = await r.writer(
        context(
            "writer",
            outputs,
        )
    )
    assert "No finding: the research failed." in draft["text"]
    assert draft["sections"] == ["question 1", "What is known about waves?"]
    with pytest.raises(DemoAgentError, match="as a list"):
        await r.writer(context("writer", {"researcher": {"0": {}}}))


async def test_publish_keeps_the_report_as_an_artifact() -> None:
    outputs = await research(TOPIC)
    draft = await r.writer(
        context("writer", {**outputs, "reviewer": {"comments": ["add a summary", "cite"]}})
    )
    approval = {"approved": True, "by": "ana", "comment": "ship it"}
    ctx = context("publish", {**outputs, "writer": draft, "approval": approval})
    out = await r.publish(ctx)
    assert out["artifact"] == "report" and out["approved_by"] == "ana"
    report = ctx.artifacts["report"]
    assert report["markdown"] == draft["text"] and report["title"] == TOPIC
    assert out["words"] == len(draft["text"].split()) > 0
    with pytest.raises(DemoAgentError, match="nothing to publish"):
        await r.publish(context("publish", {"approval": approval}))


async def test_notify_team_composes_and_sends() -> None:
    composed = await r.compose(context("compose", inputs={"topic": TOPIC, "channel": "#team"}))
    assert composed == {"channel": "#team", "message": f"Published: the report on {TOPIC}"}
    bare = await r.compose(context("compose", inputs={"topic": ""}))
    assert bare == {"channel": "#research", "message": "Published: a new research report"}
    sent = await r.send(context("send", {"compose": composed}))
    assert sent == {"sent": True, **composed}


def test_the_graph_has_the_issues_shape() -> None:
    spec = load_graph(EXAMPLES / "research-report.yaml")
    nodes = {n.name: n for n in spec.nodes}
    assert list(nodes) == [
        "planner",
        "researcher",
        "writer",
        "reviewer",
        "approval",
        "publish",
        "notify",
    ]
    assert nodes["researcher"].map == "planner.questions"
    assert nodes["researcher"].max_parallel == 4
    assert nodes["reviewer"].loop is not None
    assert (nodes["reviewer"].loop.to, nodes["reviewer"].loop.max_iterations) == ("writer", 3)
    assert nodes["approval"].wait == "approval" and nodes["approval"].agent is None
    # the reviewer's choices are its successors: approval, and writer through the loop
    assert [n.name for n in spec.nodes if "reviewer" in n.after] == ["approval"]
    assert nodes["notify"].graph == "notify-team"
    child = load_graph(EXAMPLES / "notify-team.yaml")  # beside its parent, by its name
    assert child.name == "notify-team"


@pytest.mark.parametrize("name", ["research-report.yaml", "notify-team.yaml"])
def test_every_agent_is_registered(name: str) -> None:
    spec = load_graph(EXAMPLES / name)
    for node in spec.nodes:
        if node.agent is not None:
            assert node.agent.startswith(r.PREFIX) and node.agent in registry
    check(spec, agents=registry)
