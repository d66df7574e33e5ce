"""A tiny calculator package used by the AgentOS demo."""

from calc.answer import answer

__all__ = ["answer"]
