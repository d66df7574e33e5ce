"""Names that become single path components: run ids, graph names, artifact names."""

from __future__ import annotations

import re

from agentos._exceptions import InvalidNameError

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def safe_name(name: str, what: str = "name") -> str:
    """Return `name` if it is safe as one path component, else raise InvalidNameError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise InvalidNameError(
            f"invalid {what} {name!r}: use 1-128 of A-Z a-z 0-9 _ . - (not starting with . or -)"
        )
    return name
