"""Path confinement and safe names."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentos.tools import PathEscapeError, resolve_inside, safe_name


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("s")
    return root


@pytest.mark.parametrize(
    "rel",
    ["", "   ", "/etc/passwd", "../x", "pkg/../../x", "a\x00b", "C:\\windows", "pkg/../.."],
)
def test_bad_paths_refused(root: Path, rel: str) -> None:
    with pytest.raises(PathEscapeError):
        resolve_inside(root, rel)


def test_error_names_the_path(root: Path) -> None:
    with pytest.raises(PathEscapeError, match=r"\.\./x"):
        resolve_inside(root, "../x")


def test_inside_paths_resolve(root: Path) -> None:
    real = root.resolve()
    assert resolve_inside(root, "pkg/a.py") == real / "pkg" / "a.py"
    assert resolve_inside(root, "pkg/../new.txt") == real / "new.txt"
    assert resolve_inside(root, "./pkg/sub/new.py") == real / "pkg" / "sub" / "new.py"


def test_symlink_final_component_out(root: Path, tmp_path: Path) -> None:
    (root / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    with pytest.raises(PathEscapeError, match="symlink"):
        resolve_inside(root, "link.txt")


def test_symlink_directory_out(root: Path, tmp_path: Path) -> None:
    (root / "out").symlink_to(tmp_path / "outside")
    with pytest.raises(PathEscapeError):
        resolve_inside(root, "out/secret.txt")
    with pytest.raises(PathEscapeError):
        resolve_inside(root, "out/new.txt")


def test_dangling_symlink_out(root: Path, tmp_path: Path) -> None:
    (root / "dangling").symlink_to(tmp_path / "nowhere" / "file")
    with pytest.raises(PathEscapeError):
        resolve_inside(root, "dangling")


def test_symlink_inside_allowed(root: Path) -> None:
    (root / "alias").symlink_to(root / "pkg")
    assert resolve_inside(root, "alias/a.py") == (root / "pkg" / "a.py").resolve()


@pytest.mark.parametrize("name", ["run-1", "a", "graph_v2.yaml", "A.b-c_d", "x" * 128])
def test_safe_name_accepts(name: str) -> None:
    assert safe_name(name, "run id") == name


@pytest.mark.parametrize(
    "name", ["", ".", "..", ".hidden", "a/b", "a\\b", "a b", "x" * 129, "é", "a\x00"]
)
def test_safe_name_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="run id"):
        safe_name(name, "run id")
