"""The agentos command line."""

import gc

from agentos.cli.app import cli


def main() -> None:
    """Entry point of the agentos console script."""
    # a long-lived process of many small objects: fewer, later collections (measured in
    # docs/performance.md, "Writes and scale, second round": 5,000 runs 19.0 -> 10.5 s);
    # what was imported before the command runs is never scanned again
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    cli(prog_name="agentos")


__all__ = ["cli", "main"]
