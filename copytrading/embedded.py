"""Embedded mode: the whole platform in one process, for `make demo` and a laptop.

The local simulated venue, in-process Dramatiq workers (one of them for exits only, so an exit
never waits behind copies), the periodic scheduler (the same dramatiq-crontab jobs production
runs), and optionally the demo seed and a replay of the recorded leader tape. The caller serves
the web pages. Production runs the same code as separate processes (Procfile).
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

from copytrading.deployments import deployment_current
from copytrading.detection.replay import ReplaySummary, tape_replay
from execution.simulator import VenueSimulator, scenario_from_activity_tape
from polyhunter.broker import stop_worker
from polyhunter.scheduler import scheduled_jobs_load

log = logging.getLogger(__name__)


@dataclass
class Embedded:
    simulator: VenueSimulator | None
    workers: list[dramatiq.Worker] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    replay: ReplaySummary | None = None

    def stop(self) -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for worker in self.workers:
            stop_worker(worker, timeout_ms=5_000)
        if self.simulator is not None:
            self.simulator.stop()


def embedded_start(*, rows: list[dict[str, Any]] | None, start_simulator: bool = True) -> Embedded:
    """Start the venue (when asked), the workers and the scheduler; returns handles to stop them."""
    simulator = None
    if start_simulator:
        scenario = scenario_from_activity_tape(rows or [], fee_rate=Decimal("0.02"))
        simulator = VenueSimulator(scenario, port=settings.SIMULATOR_PORT).start()
    scheduled_jobs_load()  # every actor and schedule, as the Procfile's scheduler runs them
    deployment = deployment_current()
    broker = dramatiq.get_broker()
    for queue in deployment.queue_names:
        broker.declare_queue(queue)
    exits = dramatiq.Worker(broker, worker_timeout=100, worker_threads=2, queues={deployment.queue_name("exits")})
    general = dramatiq.Worker(broker, worker_timeout=100, worker_threads=4)
    for worker in (exits, general):
        worker.start()
    running = Embedded(simulator=simulator, workers=[exits, general])
    thread = threading.Thread(target=scheduler.start, name="scheduler", daemon=True)
    thread.start()
    running.threads.append(thread)
    return running


def embedded_replay(*, running: Embedded, rows: list[dict[str, Any]], speed: float) -> threading.Thread:
    """Replay the tape in the background (its gaps divided by ``speed``) through detection."""

    def replay() -> None:
        running.replay = tape_replay(rows=rows, speed=speed)
        log.info("tape replayed: %s trade(s) recorded", running.replay.recorded)

    thread = threading.Thread(target=replay, name="replay", daemon=True)
    thread.start()
    running.threads.append(thread)
    return thread
