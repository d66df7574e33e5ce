"""Per-node concurrency limits across runs: a pure table of running attempts and the
attempts that wait, handed to every run machine of a supervisor."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable

from agentos.machine.facts import RetryDue


class NodeSlots:
    """How many attempts of each node run now, and which wait for a slot, in order.

    A subclass may free slots from outside (`cluster/permits.py`: limits shared by the
    members of a store); it tells its supervisor through the `wake` it is bound to."""

    def __init__(self) -> None:
        self._running: dict[str, int] = defaultdict(int)
        self._waiting: dict[str, deque[RetryDue]] = defaultdict(deque)

    def bind(self, wake: Callable[[str], None]) -> None:
        """Called once by the supervisor: `wake(node)` retries an attempt waiting for
        `node` (here every slot is freed by a run's own fact: nothing to bind)."""

    def close(self) -> None:
        """The supervisor stopped (nothing to give back here)."""

    def take(self, node: str, limit: int | None) -> bool:
        """Take a slot of `node` if its limit allows; False when the attempt must wait."""
        if limit is not None and self._running[node] >= limit:
            return False
        self._running[node] += 1
        return True

    def wait(self, node: str, due: RetryDue) -> None:
        """Queue an attempt until a slot of `node` frees up (`due.node` may be one of
        its map instances)."""
        self._waiting[node].append(due)

    def release(self, node: str) -> bool:
        """Give a slot back; True when an attempt is waiting for it."""
        if self._running[node] > 0:
            self._running[node] -= 1
        return bool(self._waiting[node])

    def next_waiting(self, node: str) -> RetryDue | None:
        """The attempt that waited longest for `node`, if any."""
        queue = self._waiting[node]
        return queue.popleft() if queue else None

    def forget(self, run_id: str) -> None:
        """Drop the waiting attempts of a run that ended."""
        for queue in self._waiting.values():
            for due in [d for d in queue if d.run_id == run_id]:
                queue.remove(due)
