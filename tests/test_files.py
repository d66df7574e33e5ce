"""Durable file replacement, as the catalog and the artifacts use it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentos import _files
from agentos._files import write_atomic


def test_write_atomic_replaces_and_syncs_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    monkeypatch.setattr(_files, "fsync_dir", lambda p: synced.append(str(p)))
    target = tmp_path / "sub" / "doc.json"
    write_atomic(target, b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    # the new folder's name once (in its parent), then the file's name after each rename
    assert synced == [str(tmp_path), str(target.parent), str(target.parent)]
    assert os.listdir(target.parent) == ["doc.json"]  # no temp file left


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "doc.json"
    write_atomic(target, b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["doc.json"]


def test_make_dirs_syncs_the_parent_of_every_folder_it_creates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    monkeypatch.setattr(_files, "fsync_dir", lambda p: synced.append(str(p)))
    _files.make_dirs(tmp_path / "a" / "b" / "c")
    assert (tmp_path / "a" / "b" / "c").is_dir()
    assert synced == [str(tmp_path), str(tmp_path / "a"), str(tmp_path / "a" / "b")]
    synced.clear()
    _files.make_dirs(tmp_path / "a" / "b")  # nothing new: nothing to sync
    _files.make_dirs(tmp_path / "a" / "x", durable=False)
    assert synced == []
