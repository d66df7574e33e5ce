"""Fuzzing every HTTP request body, path and query parameter on a real loopback server:
each request gets a 2xx or a 4xx with a JSON `detail`, never a 500 or a hang, and what
the server stored (catalog, run logs) is whole afterwards."""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from rel_http_server import TERMINAL, declared_error, fast_graph, thread_server

from agentos.eventstore.jsonl import JsonlEventStore
from agentos.graphs.catalog import Catalog
from agentos.routing.pool import default_pool
from agentos.state.load import load_state

TIMEOUT = 10.0  # seconds, per request: a hang fails the request
DEMO = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "src/agentos/demo/git-to-prod-multi.yaml").read_text()
)
AGENTS = ["rel_http_server:noop", "rel_http_server:hostile_note", "rel_http_server:hostile_fail"]
HOSTILE = [
    "", ".", "..", "../", "../../etc/passwd", "/etc/passwd", "a/b", "a\\b", "\x00", "a\x00b",
    "%00", "%2e%2e", "..%2f..%2f", ".catalog", ".lock", "events.jsonl", "-x", " ", "\n",
    "\u202e", "é", "💥", "<script>x</script>", "a" * 300, "a" * 3000, "null", "0", "-1",
]  # fmt: skip


def fast(n: int) -> int:
    """`n` examples, or more under `-m slow` (see SLOW)."""
    return n * SLOW.factor


@dataclass
class _Slow:
    factor: int = 1


SLOW = _Slow()

# json values

big_ints = st.sampled_from([2**63, -(2**63) - 1, 10**30, 2**64, -(10**40)])
text = st.text(max_size=40) | st.sampled_from(HOSTILE)
leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | big_ints
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_value = st.recursive(
    leaf, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=30,
)  # fmt: skip
special = st.sampled_from(
    [
        "x" * 200_000,
        "\x00" * 100,
        "\ud7ff\ue000\uffff\U0010ffff",
        "\u0000<script>alert(1)</script>",
        "ÿ" * 1000,
    ]
)


def nested(depth: int) -> Any:
    """A list nested `depth` deep."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a JSON value, down to 20 levels."""
    out = [prefix]
    if len(prefix) >= 20:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """A valid body with one or more fields replaced, removed or made hostile."""
    body: Any = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(body)))
        how = draw(st.sampled_from(["replace", "remove", "special", "deep", "add"]))
        if how == "deep":
            new: Any = nested(draw(st.sampled_from([50, 200, 1000])))
        elif how == "special":
            new = draw(special)
        else:
            new = draw(json_value)
        if not where:
            body = new if how != "remove" else {}
            continue
        parent: Any = body
        for key in where[:-1]:
            parent = parent[key]
        if how == "remove":
            del parent[where[-1]]
        elif how == "add" and isinstance(parent, dict):
            parent[draw(text)] = new
        else:
            parent[where[-1]] = new
    return body


def bodies(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Random JSON, and mutations of a valid body (the valid one included)."""
    return json_value | mutated(valid) | st.just(valid)


AGENT_REF = re.compile(r"^[\w.]+:[\w.]+$")


def tame_agents(value: Any, depth: int = 0) -> Any:
    """The value with every import-path-like string that is not ours made harmless.

    (The server imports agent modules by path when it validates a graph; random text
    must not name a real module.) Deeper than 50 levels there are only `nested` lists.
    """
    if depth > 50:
        return value
    if isinstance(value, dict):
        return {k: tame_agents(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [tame_agents(v, depth + 1) for v in value]
    if isinstance(value, str) and AGENT_REF.match(value) and value not in AGENTS:
        return "no_such_module_xyz:agent"
    return value


VALID = {
    "/policies": {"name": "p1", "policy": DEMO["policies"]["judge"]},
    "/contextprofiles": {"name": "c1", "profile": DEMO["context_profiles"]["planner"]},
    "/providerpool": default_pool().model_dump(mode="json"),
    "/graphs": {
        **fast_graph("fz", AGENTS[1]),
        "budget": {"max_tokens": 1000, "max_cost": 1.0},
        "inputs": {"a": 1},
        "policies": {"local": {"retry": {"max_attempts": 1}, "timeout": 5}},
    },
    "/runs": {"graph": "fast", "inputs": {"i": 1, "s": "x"}, "budget": {"max_tokens": 10}},
}
PAGES = [
    "/runs/{}",
    "/runs/{}/events",
    "/runs/{}/events/stream",
    "/graphs/{}",
    "/dashboard/runs/{}",
    "/dashboard/runs/{}/panel",
]

# the server


class Fuzzed:
    """A client that checks every answer: 2xx, or 4xx with a JSON detail; never 5xx."""

    def __init__(self, client: httpx.Client, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self.counts: dict[int, int] = {}
        self.schema: dict[str, Any] = client.get("/openapi.json").json()

    def conforms(self, method: str, url: str, res: httpx.Response) -> None:
        """The 4xx body fits what the route declares in the OpenAPI schema."""
        path = unquote(urlsplit(str(res.request.url)).path)
        model = declared_error(self.schema, method, path, res.status_code)
        if model is not None:
            try:
                TypeAdapter(model).validate_python(res.json(), strict=True)
            except ValidationError as exc:
                raise AssertionError(f"{method} {url[:200]}: {res.text[:300]}: {exc}") from None

    def send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            res = self.client.request(method, url, timeout=TIMEOUT, **kw)
        except httpx.TimeoutException:
            raise AssertionError(f"{method} {url[:200]} hung for {TIMEOUT}s") from None
        self.counts[res.status_code] = self.counts.get(res.status_code, 0) + 1
        code = res.status_code
        assert code < 500, f"{method} {url[:200]} -> {code}: {res.text[:500]}"
        assert 200 <= code < 400 or 400 <= code < 500, (method, url[:200], code)
        if code >= 400:
            detail = res.json()["detail"]
            assert detail not in (None, ""), res.text[:300]
            self.conforms(method, url, res)
        elif code < 300 and not url.startswith("/dashboard") and "/stream" not in url:
            res.json()
        return res


@contextmanager
def served(tmp_path: Path) -> Iterator[Fuzzed]:
    """A server with the fast graph and one finished run; on exit, runs are let finish,
    the server stops and the data dir is checked."""
    data = tmp_path / "data"
    with thread_server(data) as base, httpx.Client(base_url=base) as client:
        fz = Fuzzed(client, "")
        fz.send("POST", "/graphs", json=fast_graph())
        run_id = fz.send("POST", "/runs", json={"graph": "fast"}).json()["run_id"]
        fz.run_id = run_id
        wait_all(client)
        yield fz
        wait_all(client)
        print(f"answers by status: {dict(sorted(fz.counts.items()))}")
    check_data(data)


def wait_all(client: httpx.Client, timeout: float = 30) -> None:
    """Wait until every run has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = client.get("/runs", timeout=TIMEOUT).json()
        if all(r["status"] in TERMINAL for r in runs):
            return
        time.sleep(0.05)
    raise AssertionError("runs did not end")


def check_data(data: Path) -> None:
    """Catalog files are whole JSON and load; every run log folds."""
    catalog_dir = data / ".catalog"
    for path in catalog_dir.rglob("*"):
        assert not path.name.endswith(".tmp"), f"half-written {path}"
        if path.is_file():
            orjson.loads(path.read_bytes())
    Catalog(data)

    async def fold_all() -> int:
        store = JsonlEventStore(data, durable=False)
        try:
            count = 0
            for log in sorted(data.glob("[!.]*/events.jsonl")):
                state = await load_state(store, log.parent.name)
                assert state.run_id == log.parent.name and state.finished, log
                count += 1
            return count
        finally:
            await store.close()

    assert asyncio.run(fold_all()) >= 1


def fuzz(n: int, **strategies: st.SearchStrategy[Any]) -> Callable[..., Any]:
    """`given` with `n` examples, no deadline (each request has its own timeout)."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        return settings(
            max_examples=fast(n),
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )(given(**strategies)(fn))

    return wrap


# the tests


def fuzz_bodies(tmp_path: Path, n: int) -> None:
    with served(tmp_path) as s:

        def post_to(path: str) -> Callable[[Any], None]:
            def one(body: Any) -> None:
                s.send("POST", path, json=tame_agents(body) if path == "/graphs" else body)

            return one

        for path, valid in VALID.items():
            fuzz(n, body=bodies(valid))(post_to(path))()

        @fuzz(n, body=bodies({"from_step": "second"}) | bodies({"from_step": 3}))
        def replay(body: Any) -> None:
            s.send("POST", f"/runs/{s.run_id}/replay", json=body)

        replay()


def test_fuzz_json_bodies(tmp_path: Path) -> None:
    fuzz_bodies(tmp_path, 80)


raw_bodies = st.sampled_from(
    [
        b"",
        b"\xff\xfe\x00",
        b"\xef\xbb\xbf{}",
        b'{"graph": "fast"',
        b'{"graph": NaN}',
        b'{"graph": "fast", "inputs": {"a": Infinity}}',
        b'{"graph": "fast", "inputs": {"a": 1e400}}',
        b'{"graph": "fast", "inputs": {"a": 1' + b"0" * 5000 + b"}}",
        b'{"graph": "fast", "inputs": {"a": "\\ud800"}}',
        b'{"graph": "fast", "inputs": {"a\\u0000": "\\u0000"}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"graph": "fast", "graph": "nope"}',
        b"null",
        b"0",
    ]
)


def test_fuzz_raw_bodies(tmp_path: Path) -> None:
    targets = [*VALID, "/runs/{}/replay"]
    types = ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]
    with served(tmp_path) as s:

        @fuzz(
            150,
            path=st.sampled_from(targets),
            body=raw_bodies | st.binary(max_size=200),
            ctype=st.sampled_from(types),
        )
        def one(path: str, body: bytes, ctype: str) -> None:
            url = path.format(s.run_id)
            s.send("POST", url, content=body, headers={"content-type": ctype})

        one()


def hostile_segment() -> st.SearchStrategy[str]:
    """A path segment: hostile strings, escaped fully or leaving / and . as they are."""
    raw = st.sampled_from(HOSTILE) | st.text(max_size=30)
    return st.builds(lambda s, safe: quote(s, safe=safe), raw, st.sampled_from(["", "/.", "."]))


def test_fuzz_path_params(tmp_path: Path) -> None:
    with served(tmp_path) as s:

        @fuzz(200, page=st.sampled_from([*PAGES, "/runs/{}/replay"]), seg=hostile_segment())
        def one(page: str, seg: str) -> None:
            url = page.format(seg)
            if url.endswith("/replay"):
                s.send("POST", url, json={"from_step": "first"})
            else:
                s.send("GET", url)

        one()
        # far past what the HTTP parser takes: any 4xx, and the server lives on
        res = s.client.get("/runs/" + "a" * 60_000, timeout=TIMEOUT)
        assert 400 <= res.status_code < 500
        assert s.client.get("/health", timeout=TIMEOUT).status_code == 200


query_value = (
    st.integers(min_value=-(10**6), max_value=10**6).map(str)
    | st.sampled_from(["-1", "abc", "", "1e3", "0x10", "9" * 30, "9" * 5000, "1.5", "²", "٣"])
    | st.text(max_size=20)
)


def test_fuzz_query_params(tmp_path: Path) -> None:
    with served(tmp_path) as s:

        @fuzz(
            200,
            stream=st.booleans(),
            after=st.none() | query_value,
            type=st.none() | st.text(max_size=30) | st.just("node_started,run_succeeded"),
            node=st.none() | st.text(max_size=10) | st.just("first"),
            last_id=st.none() | query_value,
        )
        def one(
            stream: bool, after: str | None, type: str | None, node: str | None, last_id: str | None
        ) -> None:
            params = {k: v for k, v in [("after", after), ("type", type), ("node", node)] if v}
            url = f"/runs/{s.run_id}/events" + ("/stream" if stream else "")
            headers = {}
            if last_id and last_id.isascii() and last_id.isprintable() and last_id.strip():
                headers["last-event-id"] = last_id.strip()  # what a client can send
            s.send("GET", url, params=params, headers=headers)

        one()


@pytest.mark.slow
def test_fuzz_long(tmp_path: Path) -> None:
    SLOW.factor = 10
    try:
        fuzz_bodies(tmp_path / "bodies", 80)
        test_fuzz_raw_bodies(tmp_path / "raw")
        test_fuzz_path_params(tmp_path / "paths")
        test_fuzz_query_params(tmp_path / "query")
    finally:
        SLOW.factor = 1


def test_bugs_found_by_the_fuzz_stay_fixed(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        run = f"/runs/{s.run_id}"
        last = s.send("GET", run).json()["last_seq"]
        # a stream starting past the end of a finished run hung forever
        for after in (last, last + 1, 10**6):
            res = s.send("GET", f"{run}/events/stream", params={"after": after})
            assert res.text.endswith("event: end\ndata: {}\n\n")
        # a Last-Event-ID that int() refuses was a 500
        for last_id in (b"9" * 5000, b"\xb2"):  # b"\xb2" is "²" in latin-1
            res = s.send("GET", f"{run}/events/stream", headers={"last-event-id": last_id})
            assert "run_succeeded" in res.text
        # a 422 echoing bytes that are not UTF-8, NaN or a lone surrogate was a 500
        for raw in (b"\xff\xfe", b'{"name": NaN}', b'{"name": "\\ud800"}', b'{"\\ud800": 1}'):
            res = s.send("POST", "/policies", content=raw)
            assert res.status_code == 422
        # an integer beyond 64 bits in a policy or profile was a 500 (nothing was stored)
        big = {"name": "big", "policy": {"retry": {"max_attempts": 10**30}}}
        assert s.send("POST", "/policies", json=big).status_code == 422
        big = {"name": "big", "profile": {"budget": 10**30}}
        assert s.send("POST", "/contextprofiles", json=big).status_code == 422
        # a graph nested 150 deep was stored, and then the catalog no longer loaded
        deep = fast_graph("deep")
        deep["nodes"][0]["params"] = {"x": nested(150)}
        assert s.send("POST", "/graphs", json=deep).status_code == 422
    # (served checks on exit that the catalog loads)
