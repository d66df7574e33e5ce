"""What is wrong with a graph: its problems, and the error that lists them."""

from __future__ import annotations

from dataclasses import dataclass

from agentos._exceptions import AgentOSError


@dataclass(frozen=True)
class GraphProblem:
    """One thing wrong with a graph, and where it is."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class GraphValidationError(AgentOSError):
    """A graph cannot be loaded or run; `problems` lists every reason."""

    def __init__(self, problems: list[GraphProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
