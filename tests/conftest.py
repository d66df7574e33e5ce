"""Shared pytest configuration."""

# sample repositories used as test data carry tests of their own: never collect them
collect_ignore_glob = ["fixtures/*"]
