"""What the SDK-backed providers share: the client, the key from its variable, the
failure mapping and the response (each kind only says how it asks and reads)."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from agentos.context.tokens import SimpleTokenCounter, TokenCounter
from agentos.routing._http_errors import detail, status_error, transport_error
from agentos.routing._streams import StreamCutError, Streamed
from agentos.routing.pool import ProviderSpec
from agentos.routing.providers import CompletionRequest, CompletionResponse, ProviderError

_PLACEHOLDER_KEY = "none"  # servers that need no key (vLLM, Ollama) still get a header


def api_key(spec: ProviderSpec) -> tuple[str | None, str | None]:
    """(the key from the variable `spec.api_key_env`, the problem when it is unset)."""
    if spec.api_key_env is None:
        return None, None
    key = os.environ.get(spec.api_key_env)
    if not key:
        return None, f"environment variable {spec.api_key_env} is not set"
    return key, None


class SdkProvider(ABC):
    """A provider through an official SDK's async client (`client_class` of `sdk`); the
    SDK's own retries are off, the router owns retries and fallback."""

    def __init__(
        self, spec: ProviderSpec, counter: TokenCounter | None, sdk: Any, client_class: str
    ) -> None:
        self.spec = spec
        self.counter = counter or SimpleTokenCounter()
        self._key, self._problem = api_key(spec)
        self._sdk = sdk
        self._client = getattr(sdk, client_class)(
            api_key=self._key or _PLACEHOLDER_KEY,
            base_url=spec.base_url,
            timeout=spec.timeout,
            max_retries=0,
        )

    @property
    def name(self) -> str:
        """The provider's name."""
        return self.spec.name

    async def aclose(self) -> None:
        """Close the SDK client's connections (on the loop that made them)."""
        await self._client.close()

    @property
    def closed(self) -> bool:
        """Whether `aclose` closed the client."""
        return bool(self._client.is_closed())

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Send the request's turns; map the SDK's failures to ProviderError."""
        return await self._answer(request, None)

    async def stream(
        self, request: CompletionRequest, on_token: Callable[[str], None]
    ) -> CompletionResponse:
        """As `complete`, streamed: each text delta to `on_token` as it arrives; a stream
        cut mid-way is a retryable ProviderError."""
        return await self._answer(request, on_token)

    @abstractmethod
    async def _exchange(
        self, request: CompletionRequest, on_token: Callable[[str], None] | None
    ) -> Streamed | None:
        """Ask the SDK (streamed when `on_token` is given); the answer's parts, None when
        it has none."""

    async def _answer(
        self, request: CompletionRequest, on_token: Callable[[str], None] | None
    ) -> CompletionResponse:
        model = self.spec.model(request.model)
        label = f"{self.name}/{model.name}"
        if self._problem is not None:
            raise ProviderError(f"{label}: {self._problem}", retryable=False)
        started = time.perf_counter()
        try:
            got = await self._exchange(request, on_token)
        except self._sdk.APIStatusError as exc:
            message = detail(exc.body, str(exc.message))
            headers = exc.response.headers
            raise status_error(label, exc.status_code, message, headers, [self._key]) from None
        except self._sdk.APITimeoutError:
            raise transport_error(label, f"timed out after {self.spec.timeout:g}s", []) from None
        except self._sdk.APIConnectionError as exc:
            raise transport_error(label, f"connection failed: {exc}", [self._key]) from None
        except StreamCutError as exc:
            raise transport_error(label, str(exc), [self._key]) from None
        latency = (time.perf_counter() - started) * 1000
        if got is None:
            raise ProviderError(f"{label}: the response has no choices")
        tokens_in, tokens_out = got.tokens_in, got.tokens_out
        if tokens_in is None or tokens_out is None:
            tokens_in, tokens_out = self.counter.count(request.prompt), self.counter.count(got.text)
        return CompletionResponse(
            text=got.text,
            model=model.name,
            provider=self.name,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=latency,
            cost=model.cost(tokens_in, tokens_out),
            tool_calls=got.calls,
            finish_reason=got.finish_reason,
        )
