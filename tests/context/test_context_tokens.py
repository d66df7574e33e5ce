"""Tests of the simple token counter."""

from hypothesis import given
from hypothesis import strategies as st

from agentos.context import SimpleTokenCounter

counter = SimpleTokenCounter()


def test_known_counts() -> None:
    assert counter.count("") == 0
    assert counter.count("   \n\t") == 0
    assert counter.count("hello world") == 4  # hello=2, world=2
    assert counter.count("a b c") == 3
    assert counter.count("x = 1;") == 4
    assert counter.count("12345") == 2  # digits in threes
    assert counter.count("tokenization") == 3
    assert counter.count("snake_case") == 4  # snake=2, _=1, case=1
    assert counter.count("def f(x):") == 6


def test_count_is_deterministic_and_additive() -> None:
    text = "The quick brown fox, 2024 edition: jumps!"
    assert counter.count(text) == counter.count(text)
    assert counter.count(text + "\n" + text) == 2 * counter.count(text)


def test_truncate_known() -> None:
    assert counter.truncate("a b c d", 2) == "a b"
    assert counter.truncate("abcdefghij", 2) == "abcdefgh"
    assert counter.truncate("hello", 0) == ""
    assert counter.truncate("short", 100) == "short"


@given(st.text(max_size=300), st.integers(min_value=0, max_value=80))
def test_truncate_is_longest_prefix_within_limit(text: str, limit: int) -> None:
    cut = counter.truncate(text, limit)
    assert text.startswith(cut)
    assert counter.count(cut) <= limit
    if counter.count(text) <= limit:
        assert cut.rstrip() == text.rstrip()
    else:
        # one more character would not fit, or adds no token
        longer = text[: len(cut) + 1]
        assert counter.count(longer) > limit or counter.count(longer) == counter.count(cut)
