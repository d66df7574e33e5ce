"""Without the `otel` extra: agentos imports and runs, traces stay off, and asking for
them is a clear error naming the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# a process in which the blocked modules cannot be imported, as without the extra
SCRIPT = textwrap.dedent(
    """
    import os, sys

    BLOCKED = tuple(sys.argv[1].split(","))

    class NoOtel:
        def find_spec(self, name, path=None, target=None):
            if name.startswith(BLOCKED):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoOtel())
    import agentos, agentos.cli
    from agentos import InvalidInputError
    from agentos.observe import observers

    if sys.argv[2] == "api":
        import agentos.api.app
    assert observers.traces is None
    assert not any(m.startswith(BLOCKED) for m in sys.modules)
    plain = observers.from_env()
    assert plain.tracer is None and len(plain.listeners) == 1
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318"
    try:
        observers.from_env()
    except InvalidInputError as exc:
        print(exc)
    else:
        raise AssertionError("traces asked for without the extra")
    """
)


@pytest.mark.parametrize(
    ("blocked", "imports"),
    [
        # what the extra adds to what fastapi already needs (opentelemetry-api)
        ("opentelemetry.sdk,opentelemetry.exporter,opentelemetry.proto", "api"),
        ("opentelemetry", "cli"),  # no OpenTelemetry at all: the CLI still works
    ],
)
def test_agentos_works_without_the_otel_extra(blocked: str, imports: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, blocked, imports],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (message,) = done.stdout.splitlines()
    assert "otel extra is missing" in message
    assert "pip install 'agentos[otel]'" in message
    assert "No module named 'opentelemetry" in message
