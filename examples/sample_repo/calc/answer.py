"""The answer to everything."""


def answer() -> int:
    """Return the answer to life, the universe and everything: 42."""
    return 41
