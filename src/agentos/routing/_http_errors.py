"""HTTP failures of real providers in the router's vocabulary, with secrets redacted."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from agentos.routing.providers import ProviderError

#: the wait assumed after a 429 that names none
DEFAULT_RATE_LIMIT_WAIT = 1.0
REDACTED = "[redacted]"
_MAX_DETAIL = 500


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret in it replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the response asks to wait (`retry-after-ms`, `retry-after` in seconds or
    as an HTTP date); None when it names none or a bad value."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        seconds = _number(millis)
        if seconds is not None:
            return seconds / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def detail(body: object, fallback: str) -> str:
    """The provider's own message in an error body, else `fallback`."""
    if isinstance(body, Mapping):
        inner: Any = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return fallback


def status_error(
    label: str,
    status: int,
    message: str,
    headers: Mapping[str, str],
    secrets: Iterable[str | None],
) -> ProviderError:
    """A ProviderError for an HTTP status: 429 and 5xx retryable (429 after its
    Retry-After), 408 too; any other 4xx a refusal."""
    text = f"{label}: HTTP {status}: {redact(message, secrets)[:_MAX_DETAIL]}"
    wait = retry_after(headers)
    if status == 429:
        return ProviderError(text, retry_after=DEFAULT_RATE_LIMIT_WAIT if wait is None else wait)
    if status >= 500 or status == 408:
        return ProviderError(text, retry_after=wait)
    return ProviderError(text, retryable=False)


def transport_error(label: str, what: str, secrets: Iterable[str | None]) -> ProviderError:
    """A retryable ProviderError for a timeout, a refused connection, a cut stream."""
    return ProviderError(f"{label}: {redact(what, secrets)[:_MAX_DETAIL]}")
