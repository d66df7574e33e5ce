"""The observers of a process's runs besides its metrics: traces and lifecycle logs."""

from __future__ import annotations

from dataclasses import dataclass

from agentos._exceptions import InvalidInputError
from agentos.actors.supervisor_actor import Listener
from agentos.observe.lifecycle import LifecycleLog
from agentos.observe.otel_env import trace_exporters
from agentos.state.run_state import RunState

try:
    from agentos.observe import traces
except ImportError as exc:  # the `otel` extra is not installed: traces stay off
    traces = None  # type: ignore[assignment]
    WITHOUT_OTEL = str(exc)
else:
    WITHOUT_OTEL = ""


@dataclass
class Observers:
    """Listeners told of every acknowledged batch; `close` exports what is left."""

    lifecycle: LifecycleLog
    tracer: traces.RunTracer | None = None

    @property
    def listeners(self) -> list[Listener]:
        """The supervisor listeners, lifecycle first."""
        found: list[Listener] = [self.lifecycle.listen]
        if self.tracer is not None:
            found.append(self.tracer.listen)
        return found

    def resumed(self, state: RunState) -> None:
        """Note a run this process resumed (see `LifecycleLog.resumed`)."""
        self.lifecycle.resumed(state)

    def close(self) -> None:
        """Export the ended spans and stop the tracer (again: nothing)."""
        if self.tracer is not None:
            self.tracer.close()
            self.tracer = None


def from_env() -> Observers:
    """Lifecycle logs, and traces when the OTEL_* variables ask for them.

    InvalidInputError for an exporter or protocol that cannot be used, or for traces
    asked for without the `otel` extra installed.
    """
    names = trace_exporters()
    if not names:
        return Observers(LifecycleLog())
    if traces is None:
        raise InvalidInputError(
            f"the OTEL_* variables ask for traces, but the otel extra is missing "
            f"({WITHOUT_OTEL}): pip install 'agentos[otel]'"
        )
    try:
        tracer = traces.tracer_for(names)
    except ImportError as exc:  # the extra's OTLP exporter is missing
        raise InvalidInputError(f"{exc}: pip install 'agentos[otel]'") from exc
    return Observers(LifecycleLog(), tracer)
