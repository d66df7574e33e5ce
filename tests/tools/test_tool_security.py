"""Static security scan rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentos.tools import Finding, blocking, scan, snapshot_tree

SAMPLES = Path(__file__).resolve().parents[2]

PY = """\
import os
import pickle
import subprocess as sp
from yaml import load, SafeLoader
import yaml, marshal

eval("1 + 1")
exec("x = 1")
code = compile("x", "f", "exec")
os.system("ls")
sp.run("ls", shell=True)
sp.run(["ls"], shell=False)
pickle.loads(b"")
marshal.loads(b"")
yaml.load("a: 1")
load("a: 1", Loader=SafeLoader)
yaml.load("a: 1", yaml.SafeLoader)
import re; re.compile("x")
"""

EXPECTED = [
    ("eval", "high", 7),
    ("exec", "high", 8),
    ("compile", "medium", 9),
    ("os-system", "high", 10),
    ("subprocess-shell", "high", 11),
    ("pickle-load", "high", 13),
    ("marshal-load", "medium", 14),
    ("yaml-load", "high", 15),
]


def test_python_rules() -> None:
    found = [(f.rule, f.severity, f.line) for f in scan({"app.py": PY})]
    assert found == EXPECTED
    first = scan({"app.py": PY})[0]
    assert first.path == "app.py" and first.snippet == 'eval("1 + 1")'


@pytest.mark.parametrize(
    ("text", "rule", "severity"),
    [
        ("aws = 'AKIAIOSFODNN7EXAMPLE'\n", "aws-access-key", "critical"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", "private-key", "critical"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\n", "private-key", "critical"),
        ("t = 'ghp_" + "a" * 36 + "'\n", "github-token", "critical"),
        ('password = "hunter2hunter2"\n', "hardcoded-secret", "high"),
        ('API_KEY: "abcd1234efgh"\n', "hardcoded-secret", "high"),
        ('{"db_secret": "s3cr3t-value"}\n', "hardcoded-secret", "high"),
    ],
)
def test_secret_rules(text: str, rule: str, severity: str) -> None:
    [finding] = scan({"conf/x.txt": "# header\n" + text})
    assert (finding.rule, finding.severity, finding.line) == (rule, severity, 2)


def test_secret_snippet_is_masked() -> None:
    [finding] = scan({"a.env": "AWS=AKIAIOSFODNN7EXAMPLE\n"})
    assert "AKIAIOSFODNN7EXAMPLE" not in finding.snippet


@pytest.mark.parametrize(
    "text",
    ['password = "short"\n', "token = os.environ['TOKEN']\n", "password = get_password()\n"],
)
def test_no_false_secret(text: str) -> None:
    assert scan({"a.py": "import os\n" + text}) == []


def test_unparsable_python_is_low_finding() -> None:
    [finding] = scan({"broken.py": "x = 1\ndef (:\n"})
    assert (finding.rule, finding.severity, finding.line) == ("parse-error", "low", 2)
    assert "could not parse" in finding.message
    assert scan({"nul.py": "x = 1\x00\n"})[0].severity == "low"


def test_sample_repos_are_clean() -> None:
    for repo in ("examples/sample_repo", "tests/fixtures/repos/other_repo"):
        assert scan(snapshot_tree(SAMPLES / repo)) == []


def test_findings_sorted_and_blocking() -> None:
    findings = scan({"b.py": "eval('x')\n", "a.py": "x = 1\ncompile('x', 'f', 'eval')\n"})
    assert [(f.path, f.line) for f in findings] == [("a.py", 2), ("b.py", 1)]
    assert [f.rule for f in blocking(findings)] == ["eval"]
    assert len(blocking(findings, "medium")) == 2
    assert blocking(findings, "critical") == []
    with pytest.raises(ValueError, match="severity"):
        blocking(findings, "severe")
    assert isinstance(findings[0], Finding)
