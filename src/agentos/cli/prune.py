"""`agentos runs --prune`: delete old finished runs through the store's own delete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agentos._exceptions import InvalidEventError
from agentos.cli.errors import one_line, usage
from agentos.cli.runlog import reading
from agentos.cli.settings import Settings
from agentos.eventstore.base import RunLockedError, StoreError, UnknownRunError
from agentos.state.fold import fold

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_AGE = re.compile(r"(\d+)([smhdw])")


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `2w`, `45s` as a timedelta; a usage error otherwise."""
    match = _AGE.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise usage(
            f"--older-than {text!r} is not an age",
            "give a number and a unit: 30d, 12h, 90m, 2w or 45s",
        )
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


@dataclass
class Pruned:
    """A run prune chose: its id, status, when it ended; what became of it."""

    run_id: str
    status: str
    ended: datetime
    outcome: str = "would delete"  # "deleted", or why it was kept


async def prune_runs(
    settings: Settings, older_than: timedelta, statuses: frozenset[str], delete: bool
) -> list[Pruned]:
    """The finished runs (of `statuses`) that ended more than `older_than` ago; each
    deleted when `delete`. Running, waiting, interrupted and corrupt runs are never
    chosen; a run a writer took meanwhile is kept (the store refuses to delete it)."""
    cutoff = datetime.now(UTC) - older_than
    chosen: list[Pruned] = []
    async with reading(settings) as store:
        for run_id in await store.list_runs():
            try:
                state = fold(await store.read_all(run_id))
            except (StoreError, InvalidEventError):
                continue  # corrupt or gone meanwhile: never pruned
            ended = state.ended_at
            if state.status not in statuses or ended is None or ended >= cutoff:
                continue
            found = Pruned(run_id, state.status, ended)
            chosen.append(found)
            if not delete:
                continue
            try:
                await store.delete_run(run_id)
            except (RunLockedError, UnknownRunError, StoreError) as exc:
                found.outcome = f"kept: {one_line(str(exc))}"
            else:
                found.outcome = "deleted"
    chosen.sort(key=lambda p: (p.ended, p.run_id))
    return chosen
