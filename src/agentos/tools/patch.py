"""Make and strictly apply unified diffs over in-memory text files."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from agentos._exceptions import PatchError as PatchError

NO_NEWLINE = "\\ No newline at end of file"
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
DEV_NULL = "/dev/null"


@dataclass
class _Hunk:
    old_start: int
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)


@dataclass
class _FilePatch:
    old_path: str
    new_path: str
    hunks: list[_Hunk] = field(default_factory=list)


def make_patch(path: str, old: str, new: str) -> str:
    """Return a unified diff turning ``old`` into ``new`` with ``a/`` and ``b/`` headers."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    out: list[str] = []
    for line in lines:
        out.append(line if line.endswith("\n") else f"{line}\n{NO_NEWLINE}\n")
    return "".join(out)


def _header_path(line: str, prefix: str) -> str:
    name = line[4:].rstrip("\n").split("\t", 1)[0].strip()
    if name == DEV_NULL:
        return name
    return name[len(prefix) :] if name.startswith(prefix) else name


def _parse_hunk(lines: list[str], i: int, path: str, number: int) -> tuple[_Hunk, int]:
    match = _HUNK.match(lines[i])
    if match is None:
        raise PatchError(f"{path}: malformed hunk header {lines[i].rstrip()!r}")
    old_len = int(match.group(2) or "1")
    new_len = int(match.group(4) or "1")
    hunk = _Hunk(old_start=int(match.group(1)))
    i += 1
    last: list[str] | None = None
    while (
        len(hunk.old) < old_len
        or len(hunk.new) < new_len
        or (i < len(lines) and lines[i].startswith("\\"))
    ):
        if i >= len(lines):
            raise PatchError(f"{path}: hunk {number} is truncated")
        line = lines[i]
        tag, body = line[:1], line[1:]
        if line in ("\n", "\r\n"):
            tag, body = " ", line
        if tag == "\\":
            for side in (hunk.old, hunk.new) if last is None else (last,):
                if side and side[-1].endswith("\n"):
                    side[-1] = side[-1][:-1]
        elif tag == " ":
            hunk.old.append(body)
            hunk.new.append(body)
            last = None
        elif tag == "-":
            hunk.old.append(body)
            last = hunk.old
        elif tag == "+":
            hunk.new.append(body)
            last = hunk.new
        else:
            raise PatchError(f"{path}: hunk {number} has an unexpected line {line.rstrip()!r}")
        i += 1
    if len(hunk.old) != old_len or len(hunk.new) != new_len:
        raise PatchError(f"{path}: hunk {number} line counts do not match its header")
    return hunk, i


def _parse(patch: str) -> list[_FilePatch]:
    lines = patch.splitlines(keepends=True)
    files: list[_FilePatch] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("--- "):
            i += 1
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
            raise PatchError(f"missing '+++' header after {lines[i].rstrip()!r}")
        fp = _FilePatch(_header_path(lines[i], "a/"), _header_path(lines[i + 1], "b/"))
        i += 2
        while i < len(lines) and lines[i].startswith("@@"):
            hunk, i = _parse_hunk(lines, i, fp.new_path, len(fp.hunks) + 1)
            fp.hunks.append(hunk)
        if not fp.hunks:
            raise PatchError(f"{fp.new_path}: no hunks")
        files.append(fp)
    if not files:
        raise PatchError("patch contains no file sections")
    return files


def patch_paths(patch: str) -> list[str]:
    """Return the paths a patch writes, in order of first appearance."""
    return list(dict.fromkeys(fp.new_path for fp in _parse(patch)))


def _apply_file(fp: _FilePatch, text: str) -> str:
    source = text.splitlines(keepends=True)
    out: list[str] = []
    pos = 0
    for number, hunk in enumerate(fp.hunks, start=1):
        start = hunk.old_start - 1 if hunk.old else hunk.old_start
        if start < pos:
            raise PatchError(f"{fp.new_path}: hunk {number} overlaps the previous hunk")
        if source[start : start + len(hunk.old)] != hunk.old:
            raise PatchError(
                f"{fp.new_path}: hunk {number} does not match at line {hunk.old_start}"
            )
        out.extend(source[pos:start])
        out.extend(hunk.new)
        pos = start + len(hunk.old)
    out.extend(source[pos:])
    return "".join(out)


def apply_unified_patch(files: Mapping[str, str], patch: str) -> dict[str, str]:
    """Apply ``patch`` to ``files`` and return the new text of every file it touches."""
    result: dict[str, str] = {}
    for fp in _parse(patch):
        if fp.new_path == DEV_NULL:
            raise PatchError(f"{fp.old_path}: deleting files by patch is not supported")
        if fp.old_path == DEV_NULL:
            if fp.new_path in files or fp.new_path in result:
                raise PatchError(f"{fp.new_path}: patch creates a file that already exists")
            current = ""
        elif fp.old_path != fp.new_path:
            raise PatchError(f"{fp.new_path}: renames are not supported")
        elif fp.new_path in result:
            current = result[fp.new_path]
        elif fp.new_path in files:
            current = files[fp.new_path]
        else:
            raise PatchError(f"{fp.new_path}: file does not exist")
        result[fp.new_path] = _apply_file(fp, current)
    return result
