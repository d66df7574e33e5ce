"""Fixtures of the routing tests: a real HTTP server speaking the providers' protocols."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wire_server import WireServer

KEY = "sk-test-3f9a1c77d2b84e0fa6c5"  # the API key the tests put in the environment


@pytest.fixture
def wire() -> Iterator[WireServer]:
    server = WireServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AGENTOS_TEST_LLM_KEY", KEY)
    return KEY
