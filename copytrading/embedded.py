"""Embedded mode: the whole platform in one process, for `make demo` and a laptop.

The local simulated venue, in-process Dramatiq workers (one of them for exits only, so an exit
never waits behind copies), the periodic scheduler (the same dramatiq-crontab jobs production
runs), and optionally the demo: its seed and a living feed of leader trades on the recorded tape's
markets (copytrading.demo_feed). The caller serves the web pages. Production runs the same code as
separate processes (Procfile).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import dramatiq
from django.conf import settings
from dramatiq_crontab import scheduler

from copytrading.demo_feed import DemoFeed, demo_feed_register
from copytrading.deployments import deployment_current
from execution.simulator import VenueSimulator, scenario_from_activity_tape
from execution.simulator.chain.local import LocalChain
from execution.venue.gateway import default_gateway
from polyhunter.broker import stop_worker
from polyhunter.scheduler import scheduled_jobs_load

log = logging.getLogger(__name__)


@dataclass
class Embedded:
    simulator: VenueSimulator | None
    chain: LocalChain | None = None
    workers: list[dramatiq.Worker] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    feed: DemoFeed | None = None
    halt: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self.halt.set()
        demo_feed_register(None)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for worker in self.workers:
            stop_worker(worker, timeout_ms=5_000)
        if self.simulator is not None:
            self.simulator.stop()
        if self.chain is not None:
            self.chain.stop()


def embedded_start(
    *,
    rows: list[dict[str, Any]] | None,
    start_simulator: bool = True,
    simulator_port: int | None = None,
    chain: bool = False,
) -> Embedded:
    """Start the venue (when asked, on ``simulator_port``: SIMULATOR_PORT by default, 0 = any free
    port), the workers and the scheduler; returns handles to stop them.

    With `chain`, a local anvil node (one block a second) is started first and the venue settles
    every match there.
    """
    simulator_port = settings.SIMULATOR_PORT if simulator_port is None else simulator_port
    simulator = None
    local_chain = LocalChain(block_time=1.0).start() if chain and start_simulator else None
    if start_simulator:
        scenario = scenario_from_activity_tape(rows or [], fee_rate=Decimal("0.02"))
        try:
            simulator = VenueSimulator(
                scenario, port=simulator_port, chain=local_chain.info if local_chain else None
            ).start()
        except BaseException:
            if local_chain is not None:
                local_chain.stop()
            raise
        # This process trades on the venue it just started, whatever port it got.
        settings.POLYMARKET_CLOB_URL = settings.POLYMARKET_DATA_URL = simulator.url
        default_gateway.cache_clear()
    scheduled_jobs_load()  # every actor and schedule, as the Procfile's scheduler runs them
    deployment = deployment_current()
    broker = dramatiq.get_broker()
    for queue in deployment.queue_names:
        broker.declare_queue(queue)
    exits = dramatiq.Worker(broker, worker_timeout=100, worker_threads=2, queues={deployment.queue_name("exits")})
    general = dramatiq.Worker(broker, worker_timeout=100, worker_threads=4)
    for worker in (exits, general):
        worker.start()
    running = Embedded(simulator=simulator, chain=local_chain, workers=[exits, general])
    thread = threading.Thread(target=scheduler.start, name="scheduler", daemon=True)
    thread.start()
    running.threads.append(thread)
    return running


def embedded_demo_feed(*, running: Embedded, rows: list[dict[str, Any]], pace: float, seed: int = 0) -> DemoFeed:
    """Thirty days of leader history into the venue, then leader trades for as long as the demo runs."""
    assert running.simulator is not None, "the demo feed trades on the embedded simulated venue"
    feed = DemoFeed(venue=running.simulator, rows=rows, seed=seed, pace_seconds=pace)
    written = feed.history(days=30)
    log.info("demo: %s past trades of %s leaders written to the venue's Data API", written, len(feed.leaders))
    demo_feed_register(feed)
    running.feed = feed
    thread = threading.Thread(target=feed.run, args=(running.halt,), name="demo-feed", daemon=True)
    thread.start()
    running.threads.append(thread)
    return feed
