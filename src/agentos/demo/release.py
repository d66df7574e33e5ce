"""The release agent: add the pull request to the changelog under Unreleased."""

from __future__ import annotations

import re
from typing import Any

from agentos.actors.node_context import NodeContext
from agentos.demo._agent import DemoAgentError, ask_model, upstream_output, workspace

_VERSION = re.compile(r"^##\s+\[?v?(\d+)\.(\d+)\.(\d+)\]?", re.MULTILINE)
CHANGELOGS = ("CHANGELOG.md", "CHANGES.md", "HISTORY.md", "NEWS.md")
"""The only files the release agent writes (its `changelog` param picks one)."""
_SECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._\-\[\]()]{0,63}")


def checked_params(params: dict[str, Any]) -> tuple[str, str]:
    """(changelog, section) of the node's params; DemoAgentError when either is not a
    demo changelog file or a plain one-line section title."""
    path = params.get("changelog", "CHANGELOG.md")
    section = params.get("section", "Unreleased")
    if path not in CHANGELOGS:
        raise DemoAgentError(f"param changelog must be one of {', '.join(CHANGELOGS)}: {path!r}")
    if not isinstance(section, str) or not _SECTION.fullmatch(section):
        raise DemoAgentError(
            "param section must be a one-line title of letters, digits, spaces and ._-[]() "
            f"(at most 64): {str(section)[:80]!r}"
        )
    return path, section


def next_version(changelog: str) -> str:
    """The patch release after the newest version in the changelog (0.1.0 when none)."""
    versions = [tuple(int(x) for x in m.groups()) for m in _VERSION.finditer(changelog)]
    if not versions:
        return "0.1.0"
    major, minor, patch = max(versions)
    return f"{major}.{minor}.{patch + 1}"


def add_entry(changelog: str, section: str, entry: str) -> str:
    """`changelog` with `entry` first under `## section` (created when missing)."""
    if entry in changelog.splitlines():
        return changelog
    header = f"## {section}"
    lines = changelog.splitlines()
    if header not in lines:
        title = 1 if lines and lines[0].startswith("# ") else 0
        lines[title:title] = ["", header] if title else [header]
    at = lines.index(header) + 1
    while at < len(lines) and not lines[at].strip():
        at += 1
    block = [""] if at < len(lines) and not lines[at].startswith("- ") else []
    lines[lines.index(header) + 1 : at] = ["", entry, *block]
    return "\n".join(lines).rstrip("\n") + "\n"


def describe(ctx: NodeContext) -> str:
    """A one-line description of what the run changed."""
    chosen = upstream_output(ctx, "aggregator")
    fix = upstream_output(ctx, str(chosen.get("chosen")))
    parts = [
        f"fix {f['function']}() in {f['file']} to return {f['new']} instead of {f['old']}"
        for f in fix.get("fixes", [])
    ]
    tests = upstream_output(ctx, "test_writer").get("files", [])
    if tests and "test_writer" in chosen.get("extras", []):
        parts.append(f"add {', '.join(tests)}")
    text = "; ".join(parts) or "maintenance: no code change"
    return text[0].upper() + text[1:]


async def release(ctx: NodeContext) -> dict[str, Any]:
    """Write the changelog entry for the pull request and report the release notes."""
    path, section = checked_params(ctx.params)
    ws = workspace(ctx)
    pr = ctx.inputs.get("pr_number") or 0
    description = describe(ctx)
    entry = f"- {description} (#{pr})." if pr else f"- {description}."
    before = ws.read(path) if ws.exists(path) else "# Changelog\n"
    after = add_entry(before, section, entry)
    if after != before:
        ws.write(path, after)
    await ask_model(ctx, "Write the release notes.")
    return {
        "changelog": path,
        "section": section,
        "entry": entry,
        "pr_number": pr,
        "version": next_version(before),
        "notes": f"{section}: {description}",
    }
