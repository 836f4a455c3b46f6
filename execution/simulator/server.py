"""Running the venue over HTTP: in a background thread (tests) or in the foreground (the command)."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from .app import build_app
from .venue import Venue


def _runner(venue: Venue) -> web.AppRunner:
    # No access log: it costs more than the matching on the hot path.
    return web.AppRunner(build_app(venue), access_log=None, handle_signals=False)


class VenueSimulator(Venue):
    """A Venue served on 127.0.0.1 from its own thread and event loop.

    >>> with VenueSimulator(scenario) as sim:      # or sim.start() ... sim.stop()
    ...     httpx.get(sim.url + "/version")
    """

    def __init__(self, scenario: Any = None, *, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        super().__init__(scenario, **options)
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._thread is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    def start(self) -> VenueSimulator:
        if self._thread is not None:
            return self
        if self.chain is not None:
            self.chain.open()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            runner = _runner(self)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, self.host, self.port, backlog=1024)
                loop.run_until_complete(site.start())
                self.port = runner.addresses[0][1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            self._loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(runner.cleanup())
                loop.close()

        thread = threading.Thread(target=run, name=f"venue-simulator-{self.port}", daemon=True)
        thread.start()
        ready.wait(30)
        if failure:
            raise RuntimeError(f"venue simulator failed to start: {failure[0]}") from failure[0]
        self._thread = thread
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        self._thread = self._loop = None
        self.close()

    def __enter__(self) -> VenueSimulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def serve(venue: Venue, *, host: str, port: int, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve in the foreground until SIGTERM or SIGINT, then shut down cleanly."""

    async def main() -> None:
        runner = _runner(venue)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        if on_ready is not None:
            on_ready(f"http://{host}:{runner.addresses[0][1]}")
        try:
            await stopping.wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
