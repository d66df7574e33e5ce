"""The agentos command line."""

from agentos.cli.app import cli


def main() -> None:
    """Entry point of the agentos console script."""
    cli(prog_name="agentos")


__all__ = ["cli", "main"]
