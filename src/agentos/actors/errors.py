"""Errors the runtime gives agents and callers (defined in `agentos._exceptions`)."""

from agentos._exceptions import BudgetExceededError as BudgetExceededError
from agentos._exceptions import RunEndedError as RunEndedError
