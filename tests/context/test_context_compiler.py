"""Tests of context compilation: budgets, truncation, drops, missing sources, determinism."""

from typing import Any

from agentos.context import (
    MIN_TRUNCATED_TOKENS,
    ArtifactsSource,
    ContextProfile,
    FilesSource,
    InputsSource,
    InstructionsSource,
    SimpleTokenCounter,
    StaticView,
    UpstreamSource,
    compile_context,
    glob_match,
)
from agentos.context.manifest import ManifestItem

counter = SimpleTokenCounter()
WORDS = " ".join(f"w{i}" for i in range(200))  # w + digits: 2 tokens each, 400 tokens


def view() -> StaticView:
    return StaticView(
        inputs={"pr_number": 42, "title": "Fix bug", "opts": {"b": 2, "a": [1, 2]}},
        outputs={"planner": {"steps": ["read", "fix"]}},
        artifacts={"diff": "--- a\n+++ b"},
        workspace={
            "src/app.py": "def main():\n    return 1\n",
            "src/pkg/core.py": "X = 1\n",
            "README.md": WORDS,
        },
    )


def by_name(items: list[ManifestItem]) -> dict[str, ManifestItem]:
    return {i.name: i for i in items}


def test_everything_fits() -> None:
    profile = ContextProfile(
        budget=4000,
        reserve=500,
        sources=[
            InstructionsSource(text="You review pull requests."),
            InputsSource(),
            UpstreamSource(nodes=["planner"]),
            FilesSource(globs=["src/**/*.py"]),
            ArtifactsSource(names=["diff"]),
        ],
    )
    out = compile_context("reviewer", profile, view())
    m = out.manifest
    assert [i.name for i in m.items] == [
        "instructions",
        "input:opts",
        "input:pr_number",
        "input:title",
        "upstream:planner",
        "src/app.py",
        "src/pkg/core.py",
        "artifact:diff",
    ]
    assert {i.status for i in m.items} == {"included"}
    assert all(i.cut == 0 and i.tokens == i.original_tokens for i in m.items)
    assert m.budget.limit == 4000 and m.budget.reserve == 500
    assert m.budget.used == sum(i.tokens for i in m.items) == counter.count(out.text)
    assert m.budget.left == 3500 - m.budget.used
    assert '"a": [\n    1,\n    2\n  ],\n  "b": 2' in out.text  # sorted-key json
    assert "## input:pr_number\n42" in out.text
    assert out.text.startswith("## instructions\nYou review pull requests.")


def test_truncate_then_drop_when_budget_runs_out() -> None:
    profile = ContextProfile(
        budget=120,
        reserve=20,
        sources=[
            InstructionsSource(text="Be brief."),
            FilesSource(globs=["README.md"]),
            ArtifactsSource(names=["diff"]),
        ],
    )
    out = compile_context("p", profile, view())
    items = by_name(out.manifest.items)
    first = items["instructions"]
    assert first.status == "included"
    readme = items["README.md"]
    assert readme.status == "truncated"
    assert readme.tokens == 100 - first.tokens
    assert readme.original_tokens == counter.count("## README.md") + 400
    assert readme.cut == readme.original_tokens - readme.tokens
    assert readme.reason is not None and readme.reason.startswith("budget")
    diff = items["artifact:diff"]
    assert (diff.status, diff.reason, diff.tokens, diff.cut) == (
        "dropped",
        "budget exhausted",
        0,
        diff.original_tokens,
    )
    assert out.manifest.budget.used == 100 and out.manifest.budget.left == 0
    assert counter.count(out.text) == 100


def test_too_little_left_drops_instead_of_truncating() -> None:
    instructions = "word " * 90  # 90 tokens
    profile = ContextProfile(
        budget=100,
        sources=[InstructionsSource(text=instructions), FilesSource(globs=["README.md"])],
    )
    out = compile_context("p", profile, view())
    items = by_name(out.manifest.items)
    assert items["instructions"].status == "included"
    left = 100 - items["instructions"].tokens
    assert left - counter.count("## README.md") < MIN_TRUNCATED_TOKENS
    assert items["README.md"].status == "dropped"
    assert items["README.md"].reason == "budget exhausted"
    assert out.manifest.budget.left == left


def test_source_max_tokens_caps_each_item() -> None:
    profile = ContextProfile(
        budget=10_000,
        sources=[FilesSource(globs=["*.md", "src/app.py"], max_tokens=50)],
    )
    out = compile_context("p", profile, view())
    items = by_name(out.manifest.items)
    assert items["README.md"].status == "truncated"
    assert items["README.md"].tokens == 50
    assert items["README.md"].cut == items["README.md"].original_tokens - 50
    assert items["README.md"].reason == "over source max_tokens (50)"
    assert items["src/app.py"].status == "included"


def test_missing_things_are_recorded() -> None:
    profile = ContextProfile(
        budget=1000,
        sources=[
            InputsSource(keys=["pr_number", "absent"]),
            UpstreamSource(nodes=["planner", "tester"]),
            FilesSource(globs=["docs/*.rst", "src/app.py"]),
            ArtifactsSource(names=["nope"]),
        ],
    )
    out = compile_context("p", profile, view())
    dropped = {(i.source, i.name, i.reason) for i in out.manifest.items if i.status == "dropped"}
    assert dropped == {
        ("inputs", "input:absent", "missing"),
        ("upstream", "upstream:tester", "missing"),
        ("files", "docs/*.rst", "no match"),
        ("artifacts", "artifact:nope", "missing"),
    }
    included = [i.name for i in out.manifest.items if i.status == "included"]
    assert included == ["input:pr_number", "upstream:planner", "src/app.py"]


def test_max_files_limits_files() -> None:
    workspace = {f"f{i}.txt": f"file {i}" for i in range(5)}
    profile = ContextProfile(budget=1000, sources=[FilesSource(globs=["*.txt"], max_files=2)])
    out = compile_context("p", profile, StaticView(workspace=workspace))
    statuses = [(i.name, i.status) for i in out.manifest.items]
    assert statuses[:2] == [("f0.txt", "included"), ("f1.txt", "included")]
    assert [s for _, s in statuses[2:]] == ["dropped"] * 3


def test_compile_is_deterministic() -> None:
    profile = ContextProfile(
        budget=150,
        reserve=10,
        sources=[InputsSource(), UpstreamSource(nodes=["planner"]), FilesSource(globs=["**"])],
    )
    inputs: dict[str, Any] = {"z": {3, 1, 2}, "a": {"y": 1, "x": 2}}
    first = compile_context("p", profile, StaticView(inputs=inputs, workspace=view().workspace))
    reordered = dict(reversed(list(inputs.items())))
    second = compile_context(
        "p", profile, StaticView(inputs=reordered, workspace=dict(view().workspace))
    )
    assert first.manifest.model_dump_json() == second.manifest.model_dump_json()
    assert first.text == second.text
    assert len(first.manifest.context_sha256) == 64


def test_glob_match() -> None:
    assert glob_match("src/app.py", "src/*.py")
    assert not glob_match("src/pkg/core.py", "src/*.py")
    assert glob_match("src/pkg/core.py", "src/**/*.py")
    assert glob_match("src/app.py", "src/**/*.py")
    assert glob_match("a/b/c", "**")
    assert not glob_match("src/app.pyc", "src/*.py")
