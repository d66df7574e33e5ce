"""Spare run folders: made ahead by a thread, renamed into place by a new run's first append."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from store_support import make_batch

from agentos.eventstore import JsonlEventStore
from agentos.eventstore._spares import PREFIX, SpareFolders, sweep


def _spares(root: Path) -> list[str]:
    return sorted(name for name in os.listdir(root) if name.startswith(PREFIX))


async def _until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.01)
    assert check(), "timed out"  # type: ignore[operator]


async def test_a_new_run_takes_a_spare_folder(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=True, spares=4)
    try:
        await store.append("first", make_batch("first", 1, 1), 0)  # starts the thread
        await _until(lambda: len(_spares(tmp_path)) == 4)
        inodes = {os.stat(tmp_path / name).st_ino for name in _spares(tmp_path)}
        assert await store.append("second", make_batch("second", 1, 2), 0) == 2
        assert os.stat(tmp_path / "second").st_ino in inodes  # renamed, not made
        assert sorted(p.name for p in (tmp_path / "second").iterdir()) == ["events.jsonl"]
        assert [e.seq for e in await store.read_all("second")] == [1, 2]
        assert await store.list_runs() == ["first", "second"]  # spares are not runs
        for run in ("third", "fourth"):  # the thread refills what is taken
            await store.append(run, make_batch(run, 1, 1), 0)
        assert store.spares is not None
        await _until(lambda: store.spares.made >= 6 and len(_spares(tmp_path)) >= 3)
    finally:
        await store.close()
    assert _spares(tmp_path) == []  # close removes what nobody took
    assert sorted(os.listdir(tmp_path)) == ["first", "fourth", "second", "third"]


async def test_an_existing_run_folder_keeps_the_spare_and_opens_the_folder(
    tmp_path: Path,
) -> None:
    store = JsonlEventStore(tmp_path, durable=True, spares=2)
    try:
        await store.append("warm", make_batch("warm", 1, 1), 0)
        await _until(lambda: len(_spares(tmp_path)) == 2)
        before = set(_spares(tmp_path))
        await store.put_artifact("fork", "base", {"a": 1})  # makes the folder first
        assert await store.append("fork", make_batch("fork", 1, 1), 0) == 1
        assert sorted(p.name for p in (tmp_path / "fork").iterdir()) == [
            "base.json",
            "events.jsonl",
        ]
        assert before <= set(_spares(tmp_path))  # the one taken was given back
    finally:
        await store.close()


async def test_without_spares_runs_make_their_folders_inline(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=True, spares=0)
    try:
        assert store.spares is None
        assert await store.append("r", make_batch("r", 1, 1), 0) == 1
        assert os.listdir(tmp_path) == ["r"]
    finally:
        await store.close()


async def test_a_store_that_only_reads_makes_no_spares(tmp_path: Path) -> None:
    writer = JsonlEventStore(tmp_path, durable=False, spares=0)
    await writer.append("r", make_batch("r", 1, 1), 0)
    await writer.close()
    reader = JsonlEventStore(tmp_path, durable=False)
    try:
        assert await reader.list_runs() == ["r"]
        assert len(await reader.read_all("r")) == 1
        await asyncio.sleep(0.05)
        assert os.listdir(tmp_path) == ["r"]
    finally:
        await reader.close()


def test_sweep_removes_the_spares_of_processes_that_are_gone(tmp_path: Path) -> None:
    gone = tmp_path / f"{PREFIX}999999999-abcdef-0"
    mine = tmp_path / f"{PREFIX}{os.getpid()}-abcdef-0"
    for folder in (gone, mine):
        folder.mkdir()
        (folder / "events.jsonl").write_bytes(b"")
    (tmp_path / "run-1").mkdir()
    assert sweep(tmp_path) == [str(gone)]
    assert sorted(os.listdir(tmp_path)) == [mine.name, "run-1"]


def test_the_thread_stops_quietly_when_the_root_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    spares = SpareFolders(blocker / "data", 4, durable=False)
    assert spares.take() is None  # nothing ready; the inline path reports the error
    spares.close()
    assert not (blocker / "data").exists()


async def test_a_spare_that_vanished_is_dropped_and_the_run_made_inline(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=True, spares=2)
    try:
        await store.append("warm", make_batch("warm", 1, 1), 0)
        # made, log and all (a listing may show a folder whose log is not there yet)
        await _until(lambda: store.spares is not None and store.spares.ready == 2)
        for name in _spares(tmp_path):  # someone cleans the data dir by hand
            (tmp_path / name / "events.jsonl").unlink()
            (tmp_path / name).rmdir()
        assert await store.append("r", make_batch("r", 1, 1), 0) == 1
        assert [e.seq for e in await store.read_all("r")] == [1]
    finally:
        await store.close()


async def test_the_spare_pool_grows_with_misses_up_to_its_size(tmp_path: Path) -> None:
    """It starts at 8 (a store that starts one run makes few); each new run that finds
    none ready doubles it, up to the store's `spares`. (A root that is a file: the
    thread makes none, so every take misses.)"""
    root = tmp_path / "a-file"
    root.write_text("")
    spares = SpareFolders(root, 32, durable=False)
    try:
        assert spares.target == 8
        assert [spares.take() for _ in range(3)] == [None, None, None]
        assert spares.target == 32  # 16, then 32: capped at the size
    finally:
        spares.close()


async def test_a_store_keeps_enough_spares_for_a_burst(tmp_path: Path) -> None:
    """A burst of 40 new runs on a store that allows 64 spares: afterwards it keeps
    more than 8 ready, so the next burst finds its folders made."""
    store = JsonlEventStore(tmp_path, durable=True, spares=64)
    try:
        await asyncio.gather(
            *(store.append(f"r{i}", make_batch(f"r{i}", 1, 1), 0) for i in range(40))
        )
        assert store.spares is not None and store.spares.target > 8
        await _until(lambda: store.spares is not None and store.spares.ready == store.spares.target)
    finally:
        await store.close()
