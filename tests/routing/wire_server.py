"""A real HTTP server on loopback speaking OpenAI Chat Completions (/v1/chat/completions)
and Anthropic Messages (/v1/messages), for the SDK-backed providers' tests.

Replies are scripted (status, body, headers, a delay); once the script runs out, each
request gets a default answer built from it: text naming the turns it saw, or a tool call
when tools were offered and no tool answer came back yet. Every request is kept.

A request with `"stream": true` gets its answer as `text/event-stream` in the protocol's
chunks (chunked transfer encoding), its text a few characters per chunk; a reply with
`cut` closes the connection after that many chunks, one with `pause` waits for it half
way through.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKENS_IN = 42  # the usage every default answer reports
TOKENS_OUT = 7


@dataclass
class Reply:
    """One scripted answer; `body` None means the default answer."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    gate: threading.Event | None = None  # the answer waits until the test sets it
    cut: int | None = None  # a streamed answer breaks off after this many chunks
    pause: threading.Event | None = None  # a streamed answer waits half way through


@dataclass
class Seen:
    """One request as the server got it."""

    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]


def openai_answer(body: dict[str, Any], n: int) -> dict[str, Any]:
    """A Chat Completions answer to `body`."""
    turns = body["messages"]
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish = "stop"
    if body.get("tools") and turns[-1]["role"] != "tool":
        tool = body["tools"][0]["function"]["name"]
        message["tool_calls"] = [
            {
                "id": f"call_{n}",
                "type": "function",
                "function": {"name": tool, "arguments": json.dumps({"n": n})},
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = f"answer {n} to " + ",".join(t["role"] for t in turns)
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": TOKENS_IN,
            "completion_tokens": TOKENS_OUT,
            "total_tokens": TOKENS_IN + TOKENS_OUT,
        },
    }


def anthropic_answer(body: dict[str, Any], n: int) -> dict[str, Any]:
    """A Messages answer to `body`."""
    turns = body["messages"]
    last = turns[-1]["content"]
    answered = isinstance(last, list) and any(b.get("type") == "tool_result" for b in last)
    content: list[dict[str, Any]]
    if body.get("tools") and not answered:
        tool = body["tools"][0]["name"]
        content = [{"type": "tool_use", "id": f"toolu_{n}", "name": tool, "input": {"n": n}}]
        stop = "tool_use"
    else:
        roles = (["system"] if "system" in body else []) + [t["role"] for t in turns]
        content = [{"type": "text", "text": f"answer {n} to " + ",".join(roles)}]
        stop = "end_turn"
    return {
        "id": f"msg_{n}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": TOKENS_IN, "output_tokens": TOKENS_OUT},
    }


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _pieces(text: str) -> list[str]:
    return [text[i : i + 4] for i in range(0, len(text), 4)]


def stream_chunks(path: str, answer: dict[str, Any]) -> list[bytes]:
    """A whole answer of either protocol as the chunks of its stream."""
    if path.endswith("/chat/completions"):
        return _openai_chunks(answer)
    return _anthropic_chunks(answer)


def _openai_chunks(answer: dict[str, Any]) -> list[bytes]:
    choice = answer["choices"][0]
    message = choice["message"]
    base = {"id": answer["id"], "object": "chat.completion.chunk", "created": 0}
    base["model"] = answer["model"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}]
        return _sse({**base, "choices": choices})

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": piece}) for piece in _pieces(message.get("content") or "")]
    for index, call in enumerate(message.get("tool_calls") or ()):
        head = {"index": index, "id": call["id"], "type": "function"}
        head["function"] = {"name": call["function"]["name"], "arguments": ""}
        out.append(chunk({"tool_calls": [head]}))
        for piece in _pieces(call["function"]["arguments"]):
            out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    out.append(chunk({}, choice["finish_reason"]))
    out.append(_sse({**base, "choices": [], "usage": answer["usage"]}))
    return [*out, b"data: [DONE]\n\n"]


def _anthropic_chunks(answer: dict[str, Any]) -> list[bytes]:
    usage = answer["usage"]
    start = {**answer, "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": usage["input_tokens"], "output_tokens": 0}
    out = [_sse({"type": "message_start", "message": start}, "message_start")]
    for index, block in enumerate(answer["content"]):
        opened: dict[str, Any]
        if block["type"] == "text":
            opened = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
        else:
            opened = {**block, "input": {}}
            text = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in _pieces(text)]
        out.append(
            _sse(
                {"type": "content_block_start", "index": index, "content_block": opened},
                "content_block_start",
            )
        )
        for delta in deltas:
            data = {"type": "content_block_delta", "index": index, "delta": delta}
            out.append(_sse(data, "content_block_delta"))
        out.append(_sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
    closing: dict[str, Any] = {"stop_reason": answer["stop_reason"], "stop_sequence": None}
    end = {
        "type": "message_delta",
        "delta": closing,
        "usage": {"output_tokens": usage["output_tokens"]},
    }
    out.append(_sse(end, "message_delta"))
    return [*out, _sse({"type": "message_stop"}, "message_stop")]


class WireServer:
    """The server: `url` is its base (the SDKs' `base_url` is `url + "/v1"` for OpenAI,
    `url` for Anthropic)."""

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(size) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply, n = server.take(Seen(self.path, headers, body))
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.gate is not None:
                    reply.gate.wait(30)
                payload = reply.body
                if payload is None and self.path.endswith("/chat/completions"):
                    payload = openai_answer(body, n)
                elif payload is None:
                    payload = anthropic_answer(body, n)
                if body.get("stream") and reply.status == 200:
                    self._stream(stream_chunks(self.path, payload), reply)
                    return
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _stream(self, chunks: list[bytes], reply: Reply) -> None:
                try:
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    for index, chunk in enumerate(chunks):
                        if reply.cut is not None and index >= reply.cut:
                            self.wfile.flush()
                            self.close_connection = True
                            self.connection.shutdown(socket.SHUT_RDWR)  # no last chunk
                            return
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                        if index == len(chunks) // 2 and reply.pause is not None:
                            reply.pause.wait(30)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a test may leave a reply sleeping
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def take(self, seen: Seen) -> tuple[Reply, int]:
        """Keep the request; the next scripted reply (else the default) and its number."""
        with self._lock:
            self.requests.append(seen)
            reply = self.script.popleft() if self.script else Reply()
            return reply, len(self.requests)

    def start(self) -> WireServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
