"""A private event loop in its own thread, for supervisors started outside asyncio."""

from __future__ import annotations

import asyncio
import logging
import threading

log = logging.getLogger(__name__)


class LoopThread:
    """Runs an event loop until `stop`; agents' coroutines run on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="agentos-loop", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        while True:
            try:
                self.loop.run_forever()
            except (SystemExit, KeyboardInterrupt) as exc:  # asyncio re-raises these
                log.error("%r escaped a task or callback on the agents' loop", exc)
                if not self._stopping:
                    continue  # every other run on the loop carries on
            break
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def stop(self) -> None:
        """Stop the loop, cancel what still runs on it, and join the thread."""
        if self._thread.is_alive():
            self._stopping = True
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
