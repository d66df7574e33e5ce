"""Errors the runtime gives agents and callers."""


class BudgetExceededError(RuntimeError):
    """The run crossed its token or cost ceiling and its policy is to fail."""


class RunEndedError(RuntimeError):
    """The run ended while an agent was still working for it."""
