"""A small static security scan: dangerous Python calls and hard-coded secrets."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel

from agentos._exceptions import InvalidInputError

Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}
SNIPPET_CHARS = 120

_SECRETS: tuple[tuple[str, Severity, re.Pattern[str], str], ...] = (
    (
        "aws-access-key",
        "critical",
        re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        "hard-coded AWS access key id",
    ),
    (
        "private-key",
        "critical",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        "private key block",
    ),
    (
        "github-token",
        "critical",
        re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
        "hard-coded GitHub token",
    ),
    (
        "hardcoded-secret",
        "high",
        re.compile(
            r"(?i)\b[\w-]*(?:password|passwd|secret|token|api[_-]?key)[\w-]*['\"]?"
            r"\s*[:=]\s*(['\"])[^'\"\s]{8,}\1"
        ),
        "hard-coded credential assigned to a literal",
    ),
)
_SAFE_YAML_LOADERS = frozenset({"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"})
_DIRECT: dict[str, tuple[str, Severity, str]] = {
    "eval": ("eval", "high", "eval() executes arbitrary code"),
    "exec": ("exec", "high", "exec() executes arbitrary code"),
    "compile": ("compile", "medium", "compile() builds code from a string"),
    "os.system": ("os-system", "high", "os.system() runs a shell command"),
    "os.popen": ("os-system", "high", "os.popen() runs a shell command"),
    "pickle.load": ("pickle-load", "high", "pickle can execute code on load"),
    "pickle.loads": ("pickle-load", "high", "pickle can execute code on load"),
    "marshal.load": ("marshal-load", "medium", "marshal data must come from a trusted source"),
    "marshal.loads": ("marshal-load", "medium", "marshal data must come from a trusted source"),
    "yaml.unsafe_load": ("yaml-load", "high", "yaml.unsafe_load() can build arbitrary objects"),
}


class Finding(BaseModel):
    """One security finding at a file and line."""

    rule: str
    severity: Severity
    path: str
    line: int
    message: str
    snippet: str


def _snippet(lines: list[str], line: int) -> str:
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return text[:SNIPPET_CHARS]


class _CallVisitor(ast.NodeVisitor):
    """Collect dangerous calls, resolving names bound by imports."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.hits: list[tuple[str, Severity, int, str]] = []

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if node.module and node.level == 0:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _qualified(self, func: ast.expr) -> str | None:
        if isinstance(func, ast.Name):
            return self.aliases.get(func.id, func.id)
        if isinstance(func, ast.Attribute):
            owner = self._qualified(func.value)
            return f"{owner}.{func.attr}" if owner else None
        return None

    def visit_Call(self, node: ast.Call) -> None:
        name = self._qualified(node.func) or ""
        name = name.removeprefix("builtins.")
        hit = _DIRECT.get(name)
        if hit is not None:
            self.hits.append((hit[0], hit[1], node.lineno, hit[2]))
        elif name.startswith("subprocess.") and any(
            kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and not kw.value.value)
            for kw in node.keywords
        ):
            self.hits.append(("subprocess-shell", "high", node.lineno, f"{name}() with shell=True"))
        elif name == "yaml.load" and not self._safe_loader(node):
            self.hits.append(
                ("yaml-load", "high", node.lineno, "yaml.load() without a safe Loader")
            )
        self.generic_visit(node)

    def _safe_loader(self, node: ast.Call) -> bool:
        loader = next((kw.value for kw in node.keywords if kw.arg == "Loader"), None)
        if loader is None and len(node.args) > 1:
            loader = node.args[1]
        if loader is None:
            return False
        name = self._qualified(loader) or ""
        return name.rsplit(".", 1)[-1] in _SAFE_YAML_LOADERS


def _scan_python(path: str, text: str, lines: list[str]) -> list[Finding]:
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        return [
            Finding(
                rule="parse-error",
                severity="low",
                path=path,
                line=line,
                message=f"could not parse: {exc}",
                snippet=_snippet(lines, line),
            )
        ]
    visitor = _CallVisitor()
    visitor.visit(tree)
    return [
        Finding(rule=r, severity=s, path=path, line=n, message=m, snippet=_snippet(lines, n))
        for r, s, n, m in visitor.hits
    ]


def _scan_secrets(path: str, text: str, lines: list[str]) -> list[Finding]:
    out: list[Finding] = []
    for rule, severity, pattern, message in _SECRETS:
        seen: set[int] = set()
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            if line in seen:
                continue
            seen.add(line)
            snippet = _snippet(lines, line).replace(match.group(0), f"{match.group(0)[:4]}***")
            out.append(
                Finding(
                    rule=rule,
                    severity=severity,
                    path=path,
                    line=line,
                    message=message,
                    snippet=snippet,
                )
            )
    return out


def scan(files: Mapping[str, str]) -> list[Finding]:
    """Scan text files (path -> text) and return findings sorted by path and line."""
    findings: list[Finding] = []
    for path, text in files.items():
        lines = text.splitlines()
        if path.endswith(".py"):
            findings.extend(_scan_python(path, text, lines))
        findings.extend(_scan_secrets(path, text, lines))
    return sorted(findings, key=lambda f: (f.path, f.line, f.rule))


def blocking(findings: list[Finding], fail_on: str = "high") -> list[Finding]:
    """Return the findings whose severity is at or above ``fail_on``."""
    if fail_on not in SEVERITY_ORDER:
        levels = ", ".join(SEVERITY_ORDER)
        raise InvalidInputError(f"unknown severity {fail_on!r}: use one of {levels}")
    threshold = SEVERITY_ORDER[fail_on]
    return [f for f in findings if SEVERITY_ORDER[f.severity] >= threshold]
