"""Unified diff creation and strict application."""

from __future__ import annotations

import pytest

from agentos.tools import PatchError, apply_unified_patch, make_patch, patch_paths

OLD = "".join(f"line {i}\n" for i in range(1, 31))


def test_round_trip_single_hunk() -> None:
    new = OLD.replace("line 5\n", "line five\n")
    patch = make_patch("f.txt", OLD, new)
    assert patch.startswith("--- a/f.txt\n+++ b/f.txt\n")
    assert apply_unified_patch({"f.txt": OLD}, patch) == {"f.txt": new}


def test_multi_hunk_and_multi_file() -> None:
    new = OLD.replace("line 2\n", "").replace("line 20\n", "line 20\nextra\n")
    other = "a\nb\n"
    patch = make_patch("f.txt", OLD, new) + make_patch("g.txt", other, "a\nB\n")
    assert patch.count("@@ -") == 3
    assert patch_paths(patch) == ["f.txt", "g.txt"]
    result = apply_unified_patch({"f.txt": OLD, "g.txt": other, "h.txt": "h"}, patch)
    assert result == {"f.txt": new, "g.txt": "a\nB\n"}


def test_missing_trailing_newline() -> None:
    for old, new in [("a\nb", "a\nc"), ("a\nb\n", "a\nb"), ("a\nb", "a\nb\n"), ("", "x")]:
        assert apply_unified_patch({"f": old}, make_patch("f", old, new)) == {"f": new}


def test_new_file_from_dev_null() -> None:
    patch = "--- /dev/null\n+++ b/pkg/new.py\n@@ -0,0 +1,2 @@\n+x = 1\n+y = 2\n"
    assert apply_unified_patch({}, patch) == {"pkg/new.py": "x = 1\ny = 2\n"}
    with pytest.raises(PatchError, match="already exists"):
        apply_unified_patch({"pkg/new.py": ""}, patch)


def test_git_style_preamble_is_ignored() -> None:
    body = make_patch("f.txt", "a\n", "b\n")
    patch = "diff --git a/f.txt b/f.txt\nindex 123..456 100644\n" + body
    assert apply_unified_patch({"f.txt": "a\n"}, patch) == {"f.txt": "b\n"}


def test_mismatched_context_names_file_and_hunk() -> None:
    new = OLD.replace("line 2\n", "two\n").replace("line 25\n", "twenty-five\n")
    patch = make_patch("f.txt", OLD, new)
    changed = OLD.replace("line 24\n", "LINE 24\n")
    with pytest.raises(PatchError, match=r"f\.txt: hunk 2"):
        apply_unified_patch({"f.txt": changed}, patch)


@pytest.mark.parametrize(
    ("files", "patch", "message"),
    [
        ({}, "", "no file sections"),
        ({}, "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n", "does not exist"),
        ({"f": "a\n"}, "--- a/f\n+++ b/f\n@@ -1,2 +1 @@\n-a\n", "truncated"),
        ({"f": "a\n"}, "--- a/f\n+++ b/g\n@@ -1 +1 @@\n-a\n+b\n", "renames"),
        ({"f": "a\n"}, "--- a/f\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n", "deleting"),
        ({"f": "a\n"}, "--- a/f\n+++ b/f\n@@ bad @@\n", "malformed"),
    ],
)
def test_malformed_patches(files: dict[str, str], patch: str, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        apply_unified_patch(files, patch)
