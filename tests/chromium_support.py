"""Debian's chromium for the browser tests: where it is, how to launch it, when to skip."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# no sandbox as root; no background traffic: this machine's network is closed
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NEEDS_CHROMIUM = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="chromium not installed: run `make test` as root to install Debian's chromium, "
        "or apt-get install chromium",
    ),
]
