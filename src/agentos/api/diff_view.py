"""The diff page of two runs, rendered from a `RunDiff` with every value escaped."""

from __future__ import annotations

import orjson

from agentos.api.render import esc, render, status_badge, table, tag
from agentos.state._steps import StepRecord
from agentos.state.diff import Divergence, RunDiff, RunSide, StepDiff

#: how much of one JSON value a cell shows
CELL_CHARS = 300


def diff_html(diff: RunDiff) -> str:
    """The body of the diff page."""
    return render(
        "diff.html",
        a=side_html("a", diff.a),
        b=side_html("b", diff.b),
        verdict=esc("the same in every step" if diff.same else "steps differ"),
        verdict_cls="same" if diff.same else "changed",
        diverged=diverged_html(diff.diverged),
        steps=steps_table(diff),
        outputs=outputs_html(diff),
        api=esc(f"/runs/{diff.a.run_id}/diff/{diff.b.run_id}"),
    )


def side_html(label: str, side: RunSide) -> str:
    """One run: link, graph, status, totals."""
    link = tag("a", side.run_id, href=f"/dashboard/runs/{side.run_id}", cls=f"run-{label}")
    origin = esc(f" · replay of {side.replayed_from}") if side.replayed_from else ""
    return (
        f"<b>{esc(label)}</b> {link} {status_badge(side.status)} "
        + tag(
            "span",
            f"{side.graph} · {side.events} events · {side.calls} calls · "
            f"{side.tokens_in}+{side.tokens_out} tokens · ${side.cost:.6f}",
            cls="muted",
        )
        + origin
    )


def diverged_html(point: Divergence | None) -> str:
    """Where the logs part, or that they never do."""
    if point is None:
        return "the logs are the same event for event (ids, times and durations aside)"
    parts = []
    for label, event in (("a", point.a), ("b", point.b)):
        what = f"{event.type} {event.node or ''}".strip() if event else "its log ended"
        parts.append(f"{label}: {what}")
    return esc(f"the logs diverge at seq {point.seq} (") + esc(", ".join(parts)) + esc(")")


def _status(record: StepRecord | None) -> str:
    return status_badge(record.status) if record is not None else tag("span", "absent", "muted")


def _model(record: StepRecord | None) -> str:
    return esc(", ".join(record.models) or record.model or "-") if record else "-"


def _cost(record: StepRecord | None) -> str:
    if record is None or not record.calls:
        return "-"
    return esc(f"${record.cost:.6f} · {record.tokens_in}+{record.tokens_out}")


def steps_table(diff: RunDiff) -> str:
    """One row per step (`data-step` names it): ran in, statuses, models, costs, what
    differs."""
    headers = ("step", "ran in", "a", "b", "model a", "model b", "cost a", "cost b", "differs")
    head = "".join(tag("th", h) for h in headers)
    rows = []
    for step in diff.steps:
        changes = tag(
            "span", ", ".join(step.changes) or "same", cls="changed" if step.changes else "same"
        )
        cells = [
            tag("code", step.step),
            esc(step.ran),
            _status(step.a),
            _status(step.b),
            _model(step.a),
            _model(step.b),
            _cost(step.a),
            _cost(step.b),
            changes,
        ]
        tds = "".join(f"<td>{c}</td>" for c in cells)
        rows.append(f'<tr data-step="{esc(step.step)}">{tds}</tr>')
    return (
        f'<table class="diff"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _json(value: object) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + "…"


def _change_rows(step: StepDiff) -> list[list[str]]:
    rows = []
    for change in step.output:
        a = "(absent)" if change.only_in == "b" else _json(change.a)
        b = "(absent)" if change.only_in == "a" else _json(change.b)
        rows.append([tag("code", change.path or "(whole output)"), tag("pre", a), tag("pre", b)])
    for label, record in (("a", step.a), ("b", step.b)):
        if "error" in step.changes and record is not None and record.error:
            rows.append([esc(f"error in {label}"), tag("pre", record.error), ""])
    return rows


def outputs_html(diff: RunDiff) -> str:
    """Per step that differs in output or error: each place, a's value and b's."""
    sections = []
    for step in diff.steps:
        rows = _change_rows(step)
        if rows:
            body = table(("where", "a", "b"), rows, cls="changes")
            sections.append(
                f'<div class="step-changes" data-step="{esc(step.step)}">'
                + tag("h3", step.step)
                + body
                + "</div>"
            )
    return "".join(sections) or tag("p", "no output differs", cls="muted")
