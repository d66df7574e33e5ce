"""Tools the demo agents use: a confined workspace, patches, pytest and a security scan."""

from agentos.tools.patch import PatchError, apply_unified_patch, make_patch, patch_paths
from agentos.tools.paths import PathEscapeError, resolve_inside, safe_name
from agentos.tools.security import SEVERITY_ORDER, Finding, blocking, scan
from agentos.tools.testrunner import TestFailure, TestReport, run_pytest, run_pytest_sync
from agentos.tools.workspace import (
    FileWrite,
    Workspace,
    apply_write,
    materialize,
    snapshot_tree,
)

__all__ = [
    "SEVERITY_ORDER",
    "FileWrite",
    "Finding",
    "PatchError",
    "PathEscapeError",
    "TestFailure",
    "TestReport",
    "Workspace",
    "apply_unified_patch",
    "apply_write",
    "blocking",
    "make_patch",
    "materialize",
    "patch_paths",
    "resolve_inside",
    "run_pytest",
    "run_pytest_sync",
    "safe_name",
    "scan",
    "snapshot_tree",
]
