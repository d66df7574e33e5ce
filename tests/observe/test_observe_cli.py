"""`agentos run` with traces and lifecycle lines: spans through OTLP over HTTP to a
receiver on loopback, JSON lifecycle lines on stderr without any input value, and a
one-line error for OTEL_* settings that cannot work."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from agentos.cli import cli
from agentos.observe.traces import run_span_ids

HERE = Path(__file__).parent
SECRET = "s3cr3t-input-value-41"
TRACED = """\
name: e2e
context_profiles:
  p:
    budget: 400
    reserve: 64
    sources: [{kind: instructions, text: be brief}, {kind: inputs}]
nodes:
  - {name: plan, agent: "observe_agents:caller", context: p}
  - {name: ask, agent: "observe_agents:echo", after: [plan]}
"""
FAILING = """\
name: shaky
nodes:
  - name: first
    agent: "observe_agents:flaky"
    policy: {retry: {max_attempts: 2, initial_interval: 0}}
  - {name: ask, agent: "observe_agents:boom", after: [first]}
"""


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: keeps every request it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, ExportTraceServiceRequest]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[Span]:
        return [
            span
            for _, request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.requests.append((self.path, ExportTraceServiceRequest.FromString(body)))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def agentos(tmp_path: Path, graph: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`agentos --data DATA run GRAPH --input topic=SECRET ARGS...` in a subprocess."""
    path = tmp_path / "graph.yaml"
    path.write_text(graph)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environ |= {"AGENTOS_FSYNC": "0", "NO_COLOR": "1", **env}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), environ.get("PYTHONPATH")]))
    script = Path(sys.executable).parent / "agentos"  # the installed console script
    command = [str(script), "--data", str(tmp_path / "data"), "run"]
    command += [str(path), "--input", f"topic={SECRET}", *args]
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120)


def lines(stderr: str) -> list[dict[str, object]]:
    """Every stderr line, parsed as one JSON object."""
    parsed = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert all(isinstance(p, dict) for p in parsed)
    return parsed


def test_spans_reach_an_otlp_receiver_over_http(tmp_path: Path, receiver: Receiver) -> None:
    done = agentos(
        tmp_path,
        TRACED,
        "--log-format",
        "json",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="agentos-e2e",
    )
    assert done.returncode == 0, done.stderr
    assert {path for path, _ in receiver.requests} == {"/v1/traces"}
    services = {
        attr.value.string_value
        for _, request in receiver.requests
        for resource in request.resource_spans
        for attr in resource.resource.attributes
        if attr.key == "service.name"
    }
    assert services == {"agentos-e2e"}
    spans = receiver.spans()
    (run,) = [s for s in spans if not s.parent_span_id]
    (run_id,) = [a.value.string_value for a in run.attributes if a.key == "agentos.run_id"]
    trace_id, span_id = run_span_ids(run_id)
    assert run.name == "run e2e"
    assert run.trace_id == trace_id.to_bytes(16, "big")
    assert run.span_id == span_id.to_bytes(8, "big")
    assert {s.trace_id for s in spans} == {run.trace_id}
    by_id = {s.span_id: s for s in spans}
    plan = next(s for s in spans if s.name == "plan")
    ask = next(s for s in spans if s.name == "ask")
    assert plan.parent_span_id == ask.parent_span_id == run.span_id
    (call,) = [s for s in spans if s.name.startswith("chat ")]
    assert by_id[call.parent_span_id].name == "plan"
    assert call.kind == Span.SpanKind.SPAN_KIND_CLIENT
    attrs = {a.key: a.value for a in call.attributes}
    assert attrs["gen_ai.usage.input_tokens"].int_value > 0
    assert attrs["gen_ai.request.model"].string_value == call.name.removeprefix("chat ")
    assert all(s.status.code != Status.STATUS_CODE_ERROR for s in spans)
    # the lifecycle lines of the same run: JSON, and never an input value
    logged = lines(done.stderr)
    assert [line["event"] for line in logged] == ["run_created", "run_started", "run_finished"]
    assert {line["run_id"] for line in logged} == {run_id}
    assert logged[-1]["status"] == "succeeded"
    assert SECRET not in done.stderr
    assert not any(SECRET in str(s) for s in spans)


def test_lifecycle_json_lines_of_a_failing_run(tmp_path: Path) -> None:
    done = agentos(tmp_path, FAILING, "--log-format", "json")
    assert done.returncode == 1, done.stderr
    logged = lines(done.stderr)
    events = [(line["event"], line.get("node")) for line in logged]
    assert events == [
        ("run_created", None),
        ("run_started", None),
        ("node_failed", "first"),
        ("node_retrying", "first"),
        ("node_failed", "ask"),
        ("run_finished", None),
    ]
    first, _, ask, end = logged[2:]
    assert first["final"] is False and first["error_type"] == "ConnectionError"
    assert ask["final"] is True and ask["error_type"] == "KeyError"
    assert ask["level"] == end["level"] == "warning"
    assert end["status"] == "failed" and "ask" in str(end["error"])
    assert all(
        line["logger"] == "agentos.lifecycle" and line["graph"] == "shaky" for line in logged
    )
    assert SECRET not in done.stderr
    assert SECRET in (tmp_path / "data").joinpath(str(end["run_id"]), "events.jsonl").read_text()


def test_text_lifecycle_lines_and_none_without_the_option(tmp_path: Path) -> None:
    graph = tmp_path / "graph.yaml"
    graph.write_text(TRACED)
    base = ["--data", str(tmp_path / "data"), "run", str(graph), "-i", f"topic={SECRET}"]
    quiet = CliRunner().invoke(cli, base, catch_exceptions=False)
    assert quiet.exit_code == 0, quiet.output
    assert "run_finished" not in quiet.stderr
    texted = CliRunner().invoke(cli, [*base, "--log-format", "text"], catch_exceptions=False)
    assert texted.exit_code == 0, texted.output
    logged = texted.stderr.splitlines()
    assert [line.split()[3] for line in logged] == ["run_created", "run_started", "run_finished"]
    assert all(" INFO agentos.lifecycle " in line for line in logged)
    assert "status=succeeded" in logged[-1] and "graph=e2e" in logged[-1]
    assert SECRET not in texted.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "zipkin"),
        ({"OTEL_SERVICE_NAME": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc"),
    ],
)
def test_otel_settings_that_cannot_work_are_one_line_errors(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    done = agentos(tmp_path, TRACED, **env)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and named in done.stderr.splitlines()[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").glob("run-*"))
