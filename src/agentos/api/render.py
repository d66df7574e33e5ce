"""HTML rendering without a template engine: string.Template files and escaping.

Every value that comes from a run or a request goes through `esc` before it reaches a
template; templates only receive escaped text or HTML built by these helpers.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

TEMPLATES = Path(__file__).with_name("templates")


def esc(value: Any) -> str:
    """The value as HTML text, quotes included (safe in attributes too)."""
    return html.escape("" if value is None else str(value), quote=True)


@cache
def template(name: str) -> Template:
    """A template file of templates/, loaded once."""
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **parts: str) -> str:
    """Fill a template with already escaped parts."""
    return template(name).substitute(parts)


def page(title: str, body: str, script: str = "") -> str:
    """A whole page: the layout around `body` (escaped HTML)."""
    return render("base.html", title=esc(title), body=body, script=esc(script))


def tag(name: str, text: Any = "", cls: str = "", **attrs: Any) -> str:
    """One element with escaped text and attributes."""
    items = [("class", cls)] if cls else []
    items += [(k.rstrip("_").replace("_", "-"), v) for k, v in attrs.items() if v is not None]
    attr = "".join(f' {k}="{esc(v)}"' for k, v in items)
    return f"<{name}{attr}>{esc(text)}</{name}>"


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    """A table of header texts and rows of cells (each cell already HTML)."""
    head = "".join(tag("th", h) for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cls_attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{cls_attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def status_badge(status: str) -> str:
    """A coloured status label."""
    return tag("span", status, cls=f"badge s-{status}")


def seconds(value: float | None) -> str:
    """A duration for people: 1.23 s, 120 ms, or a dash."""
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
