"""Workspace writes, recording and materialization."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agentos.tools import (
    FileWrite,
    PatchError,
    PathEscapeError,
    Workspace,
    make_patch,
    materialize,
    snapshot_tree,
)

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_repo"


def test_snapshot_tree_skips_noise(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\x00\x01")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text("x")
    (tmp_path / "pkg" / "m.py").write_text("m = 1\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    (tmp_path / "b.txt").write_text("b")
    assert snapshot_tree(tmp_path) == {"b.txt": "b", "pkg/m.py": "m = 1\n"}
    assert list(snapshot_tree(tmp_path)) == ["b.txt", "pkg/m.py"]


def test_snapshot_tree_missing_source(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        snapshot_tree(tmp_path / "nope")


def test_write_records_file_write(tmp_path: Path) -> None:
    seen: list[FileWrite] = []
    ws = Workspace(tmp_path, on_write=seen.append)
    record = ws.write("./src/new.py", "print('é')\n")
    data = "print('é')\n".encode()
    assert record == FileWrite(
        path="src/new.py",
        op="write",
        content="print('é')\n",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    assert seen == [record]
    assert ws.read("src/new.py") == "print('é')\n"
    assert FileWrite.model_validate_json(record.model_dump_json()) == record
    removed = ws.delete("src/new.py")
    assert removed == FileWrite(path="src/new.py", op="delete")
    assert seen == [record, removed]
    assert not ws.exists("src/new.py")


def test_escaping_writes_refused_and_not_recorded(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "out").symlink_to(tmp_path)
    seen: list[FileWrite] = []
    ws = Workspace(root, on_write=seen.append)
    for bad in ("../evil.txt", "/tmp/evil.txt", "out/evil.txt", "a\x00b"):
        with pytest.raises(PathEscapeError):
            ws.write(bad, "x")
    assert seen == []
    assert not (tmp_path / "evil.txt").exists()


def test_list_and_files(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.write("a.py", "a")
    ws.write("pkg/b.py", "b")
    ws.write("pkg/c.txt", "c")
    (tmp_path / "pkg" / "bin.py").write_bytes(b"\xff\xfe")
    (tmp_path / ".pytest_cache").mkdir()
    (tmp_path / ".pytest_cache" / "x.py").write_text("x")
    assert ws.list() == ["a.py", "pkg/b.py", "pkg/bin.py", "pkg/c.txt"]
    assert ws.list("*.py") == ["a.py"]
    assert ws.files(["**/*.py", "*.py"]) == [("a.py", "a"), ("pkg/b.py", "b")]
    with pytest.raises(ValueError):
        ws.list("../*")


def test_materialize_reproduces_workspace(tmp_path: Path) -> None:
    base = snapshot_tree(SAMPLE)
    live_root = tmp_path / "live"
    materialize(live_root, base, [])
    writes: list[FileWrite] = []
    ws = Workspace(live_root, on_write=writes.append)
    ws.write("calc/answer.py", ws.read("calc/answer.py").replace("41", "42"))
    ws.write("docs/notes.md", "notes\n")
    ws.delete("frontend/app.js")
    ws.apply_patch(make_patch("CHANGELOG.md", base["CHANGELOG.md"], base["CHANGELOG.md"] + "- x\n"))
    replay_root = tmp_path / "replay"
    (replay_root / "stale").mkdir(parents=True)
    (replay_root / "stale" / "junk.txt").write_text("junk")
    materialize(replay_root, base, [FileWrite.model_validate(w.model_dump()) for w in writes])
    assert snapshot_tree(replay_root) == ws.snapshot()
    assert "frontend/app.js" not in ws.snapshot()
    # prefix of the log = workspace at that step
    materialize(replay_root, base, writes[:1])
    assert snapshot_tree(replay_root)["calc/answer.py"].count("return 42") == 1


def test_materialize_rejects_tampered_write(tmp_path: Path) -> None:
    bad = FileWrite(path="a.txt", op="write", content="x", sha256="0" * 64, size=1)
    with pytest.raises(ValueError, match="sha256"):
        materialize(tmp_path / "ws", {}, [bad])


def test_apply_patch_is_all_or_nothing(tmp_path: Path) -> None:
    seen: list[FileWrite] = []
    ws = Workspace(tmp_path, on_write=seen.append)
    ws.write("a.txt", "one\ntwo\n")
    ws.write("b.txt", "three\n")
    seen.clear()
    patch = make_patch("a.txt", "one\ntwo\n", "one\n2\n") + make_patch("b.txt", "nope\n", "x\n")
    with pytest.raises(PatchError, match=r"b\.txt"):
        ws.apply_patch(patch)
    assert seen == []
    assert ws.read("a.txt") == "one\ntwo\n"
    records = ws.apply_patch(make_patch("a.txt", "one\ntwo\n", "one\n2\n"))
    assert [r.path for r in records] == ["a.txt"] and seen == records
    with pytest.raises(PathEscapeError):
        ws.apply_patch(make_patch("../x.txt", "", "x\n"))
