"""The research-report example's agents (examples/research-report.yaml), simulated and
deterministic: a planner that decides the sub-questions at run time, one researcher per
question (a map), a writer and a reviewer in a bounded loop, a publisher, and the two
nodes of the notify-team child graph. Registered as `research:<name>`."""

from __future__ import annotations

import re
import zlib
from typing import Any

from agentos.actors.node_context import Next, NodeContext
from agentos.agents.registry import Agent, AgentRegistry
from agentos.demo._agent import DemoAgentError, ask_model

PREFIX = "research:"
MAX_QUESTIONS = 12
"""The most sub-questions the planner asks (its `max_questions` param, at most this)."""
ANGLES = ("What is {}?", "Why does {} matter now?", "What are the open problems of {}?")
"""The questions about a topic of one aspect."""
SUMMARY = "## Summary"
_ASPECTS = re.compile(r"\s*(?:,|;|\band\b)\s*")


def questions(topic: str, limit: int = MAX_QUESTIONS) -> list[str]:
    """The sub-questions of `topic`: one per aspect ("a, b and c" has three), or three
    angles on a topic of one aspect; none for a blank topic. At most `limit`."""
    aspects = [a.strip() for a in _ASPECTS.split(topic.strip()) if a.strip()]
    if len(aspects) > 1:
        found = [f"What is known about {a}?" for a in aspects]
    else:
        found = [angle.format(aspects[0]) for angle in ANGLES] if aspects else []
    return found[:limit]


def _limit(params: dict[str, Any]) -> int:
    limit = params.get("max_questions", MAX_QUESTIONS)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_QUESTIONS:
        raise DemoAgentError(f"param max_questions must be an integer in [1, {MAX_QUESTIONS}]")
    return limit


async def planner(ctx: NodeContext) -> dict[str, Any]:
    """Split the input `topic` into the sub-questions the researchers answer."""
    topic = ctx.inputs.get("topic", "")
    if not isinstance(topic, str) or len(topic) > 500:
        raise DemoAgentError("input topic must be a string of at most 500 characters")
    found = questions(topic, _limit(ctx.params))
    await ask_model(ctx, f"Split the topic {topic!r} into sub-questions.")
    return {"topic": topic.strip(), "questions": found, "count": len(found)}


def mapped(ctx: NodeContext) -> tuple[Any, int]:
    """(item, index) of a map instance; DemoAgentError for a node that is not mapped."""
    if ctx.index is None:
        raise DemoAgentError(f"node {ctx.node!r} needs a map item: set `map:` in the graph")
    return ctx.item, ctx.index


async def researcher(ctx: NodeContext) -> dict[str, Any]:
    """Answer one sub-question (the map item) with a finding and its sources."""
    question, index = mapped(ctx)
    if not isinstance(question, str) or not question.strip():
        raise DemoAgentError(f"item {index} is not a question: {question!r}")
    seed = zlib.crc32(question.encode())
    sources = [f"https://example.org/q{index + 1}/{seed % 997 + k}" for k in range(2)]
    await ask_model(ctx, f"Research: {question}")
    return {
        "index": index,
        "question": question,
        "finding": f"Two of three sources agree on the answer to {question!r}.",
        "confidence": round(0.6 + (seed % 40) / 100, 2),
        "sources": sources,
    }


def findings(ctx: NodeContext) -> list[dict[str, Any]]:
    """The researchers' outputs, in item order; a failed instance is marked as such."""
    outputs = ctx.outputs.get("researcher")
    if not isinstance(outputs, list):
        raise DemoAgentError("the writer needs the researchers' outputs as a list")
    return [
        out if isinstance(out, dict) else {"index": i, "question": None, "failed": True}
        for i, out in enumerate(outputs)
    ]


def comments(ctx: NodeContext) -> list[str]:
    """The reviewer's comments on the draft before (none on the first pass)."""
    review = ctx.outputs.get("reviewer")
    found = review.get("comments", []) if isinstance(review, dict) else []
    return [str(c) for c in found]


def render(
    topic: str, items: list[dict[str, Any]], *, summary: bool, cite: bool
) -> tuple[str, list[str]]:
    """The report's markdown and its section titles."""
    lines, sections = [f"# {topic or 'Research report'}", ""], []
    if summary:
        answered = sum(1 for item in items if not item.get("failed"))
        sections.append("Summary")
        lines += [SUMMARY, f"{answered} of {len(items)} questions answered.", ""]
    for item in items:
        number = int(item.get("index", 0)) + 1
        title = item.get("question") or f"question {number}"
        sections.append(str(title))
        lines += [f"## {title}"]
        if item.get("failed"):
            lines += ["No finding: the research failed.", ""]
            continue
        ref = f" [Q{number}]" if cite else ""
        lines += [f"{item.get('finding', '')}{ref}", ""]
        if cite:
            lines += [f"- {url}" for url in item.get("sources", [])] + [""]
    return "\n".join(lines).rstrip() + "\n", sections


async def writer(ctx: NodeContext) -> dict[str, Any]:
    """Write the report from the findings; a later draft does what the review asked
    (a summary, citations), the first is a bare list of findings."""
    items = findings(ctx)
    topic = str((ctx.outputs.get("planner") or {}).get("topic", ""))
    asked = comments(ctx)
    before = ctx.outputs.get("writer")
    draft = (before.get("draft", 0) if isinstance(before, dict) else 0) + 1
    kept = str(before.get("text", "")) if isinstance(before, dict) else ""
    summary = SUMMARY in kept.splitlines() or any("summary" in c.lower() for c in asked)
    cite = "[Q" in kept or any("cite" in c.lower() for c in asked)
    text, sections = render(topic, items, summary=summary, cite=cite)
    await ask_model(ctx, f"Write draft {draft} of the report on {topic!r}.")
    return {"draft": draft, "text": text, "sections": sections, "addressed": asked}


def critique(draft: dict[str, Any]) -> list[str]:
    """What the draft lacks: a summary section, and a citation for each finding."""
    text = str(draft.get("text", ""))
    found = []
    if SUMMARY not in text.splitlines():
        found.append("add a Summary section that says how many questions were answered")
    if "[Q" not in text:
        found.append("cite each finding with its question number ([Q1]) and sources")
    return found


async def reviewer(ctx: NodeContext) -> Next:
    """Send the draft back to the writer with comments, or approve it: `Next` chooses the
    writer (the loop) or the node in the `then` param (default `approval`)."""
    draft = ctx.outputs.get("writer")
    if not isinstance(draft, dict):
        raise DemoAgentError("the reviewer needs the writer's draft")
    found = critique(draft)
    await ask_model(ctx, f"Review draft {draft.get('draft')}.")
    review = {"draft": draft.get("draft"), "approved": not found, "comments": found}
    if found:
        return Next(["writer"], review)
    return Next([str(ctx.params.get("then", "approval"))], review)


async def publish(ctx: NodeContext) -> dict[str, Any]:
    """Keep the approved report as the run's artifact `report`."""
    draft = ctx.outputs.get("writer")
    if not isinstance(draft, dict) or not draft.get("text"):
        raise DemoAgentError("nothing to publish: the writer wrote no report")
    approval = ctx.outputs.get("approval")
    by = approval.get("by") if isinstance(approval, dict) else None
    topic = str((ctx.outputs.get("planner") or {}).get("topic", ""))
    name = str(ctx.params.get("artifact", "report"))
    ctx.put_artifact(
        name, {"title": topic, "markdown": draft["text"], "draft": draft["draft"], "by": by}
    )
    await ask_model(ctx, "Publish the report.")
    return {
        "artifact": name,
        "title": topic,
        "draft": draft["draft"],
        "words": len(draft["text"].split()),
        "approved_by": by,
    }


async def compose(ctx: NodeContext) -> dict[str, Any]:
    """notify-team: the message announcing a report on the input `topic` (a child run's
    inputs are its parent's, with the parent node's params over them) to `channel`."""
    topic = str(ctx.inputs.get("topic") or "").strip()
    channel = str(ctx.inputs.get("channel") or "#research")
    about = f"the report on {topic}" if topic else "a new research report"
    return {"channel": channel, "message": f"Published: {about}"}


async def send(ctx: NodeContext) -> dict[str, Any]:
    """notify-team: deliver the composed message (simulated: recorded, not sent)."""
    message = ctx.outputs.get("compose")
    if not isinstance(message, dict):
        raise DemoAgentError("send needs the composed message")
    return {"sent": True, "channel": message["channel"], "message": message["message"]}


AGENTS: dict[str, Agent] = {
    "planner": planner,
    "researcher": researcher,
    "writer": writer,
    "reviewer": reviewer,
    "publish": publish,
    "notify_compose": compose,
    "notify_send": send,
}


def register_research_agents(registry: AgentRegistry, *, replace: bool = False) -> AgentRegistry:
    """Register the research agents as `research:<name>` in `registry` and return it."""
    for name, fn in AGENTS.items():
        registry.register(f"{PREFIX}{name}", fn, replace=replace)
    return registry
