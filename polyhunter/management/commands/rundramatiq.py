"""``rundramatiq`` with its metrics set up for several worker processes.

django_dramatiq's command, unchanged, after preparing the environment it passes on: every worker
process writes its metrics (dramatiq's and PolyHunter's) into one folder per pool, and dramatiq's
exposition server reads that folder on ``WORKER_METRICS_ADDRESS:WORKER_METRICS_PORT`` (loopback
unless configured). ``--metrics-port`` gives a second pool on the same machine its own port.
Explicit ``dramatiq_prom_host`` / ``dramatiq_prom_port`` / ``dramatiq_prom_db`` in the environment
win (tests run pools on port 0).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django_dramatiq.management.commands.rundramatiq import Command as DramatiqCommand

from polyhunter.metrics_files import metrics_folder_prepare, multiprocess_environment

# dramatiq's own (lower-case) variables, read by its Prometheus middleware and exposition server.
PROM_HOST, PROM_PORT, PROM_DB = "dramatiq_prom_host", "dramatiq_prom_port", "dramatiq_prom_db"


class Command(DramatiqCommand):  # type: ignore[misc]  # django_dramatiq ships no types
    help = "Runs Dramatiq workers, their metrics on WORKER_METRICS_ADDRESS:WORKER_METRICS_PORT."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="Port of this pool's metrics server (default: WORKER_METRICS_PORT).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options.pop("metrics_port")
        port = settings.WORKER_METRICS_PORT if port is None else port
        os.environ.setdefault(PROM_HOST, settings.WORKER_METRICS_ADDRESS)
        os.environ.setdefault(PROM_PORT, str(port))
        folder = Path(os.environ.get(PROM_DB) or settings.METRICS_DIR / f"worker-{port}")
        os.environ[PROM_DB] = str(metrics_folder_prepare(folder))
        multiprocess_environment(folder)
        super().handle(*args, **options)
