"""Run inputs from `--input key=value` options and an `--inputs-json` file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentos.cli.errors import usage
from agentos.events.limits import MAX_DEPTH, json_problem

_LIMITS_HINT = "numbers must be finite, integers within 64 bits"


def parse_value(text: str) -> Any:
    """The value as JSON when it parses (numbers, true, objects), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text
    except RecursionError:
        raise usage(f"input value nested deeper than {MAX_DEPTH} levels") from None


def parse_pair(pair: str) -> tuple[str, Any]:
    """`key=value` as (key, value)."""
    key, sep, value = pair.partition("=")
    key = key.strip()
    if not sep or not key:
        raise usage(f"--input {pair!r} is not key=value", "e.g. --input pr_number=7")
    parsed = parse_value(value)
    problem = json_problem({key: parsed}, MAX_DEPTH)
    if problem is not None:
        raise usage(f"--input {key}: {problem}", _LIMITS_HINT)
    return key, parsed


def read_inputs_file(path: Path) -> dict[str, Any]:
    """The JSON object in `path`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise usage(f"--inputs-json file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise usage(f"--inputs-json file {path} cannot be read: {exc}") from None
    except ValueError as exc:
        raise usage(f"--inputs-json file {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise usage(f"--inputs-json file {path} is nested deeper than {MAX_DEPTH} levels") from None
    if not isinstance(data, dict):
        found = type(data).__name__
        raise usage(f"--inputs-json file {path} must hold a JSON object, not {found}")
    problem = json_problem(data, MAX_DEPTH)
    if problem is not None:
        raise usage(f"--inputs-json file {path}: {problem}", _LIMITS_HINT)
    return data


def parse_inputs(pairs: Sequence[str], inputs_file: Path | None) -> dict[str, Any]:
    """The run inputs: the file's object first, then each --input over it."""
    inputs = read_inputs_file(inputs_file) if inputs_file is not None else {}
    for pair in pairs:
        key, value = parse_pair(pair)
        inputs[key] = value
    return inputs
