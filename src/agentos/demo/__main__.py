"""`python -m agentos.demo`: run the demo on examples/sample_repo and exit with its code."""

from __future__ import annotations

from agentos.demo.run import run_demo_sync


def main() -> int:
    """Run the demo; 0 when the run succeeded."""
    return run_demo_sync().exit_code


if __name__ == "__main__":
    raise SystemExit(main())
