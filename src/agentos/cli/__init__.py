"""The agentos command line."""


def main() -> None:
    """Entry point of the agentos console script."""
    raise SystemExit("agentos: not built yet")
