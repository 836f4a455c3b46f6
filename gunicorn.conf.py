"""gunicorn's configuration (read from the working directory): metrics across its workers.

Every worker writes its metrics into ``METRICS_DIR/web-<port>`` (emptied when the master starts),
so /metrics, served by whichever worker gets the scrape, sums all of them; a worker that exits is
marked dead so its live gauges drop out.
"""

from __future__ import annotations

import os
from typing import Any

# Names without a leading underscore are gunicorn settings ("config" is one): keep ours private.
from polyhunter import config as _config
from polyhunter.metrics_files import metrics_folder_prepare as _prepare
from polyhunter.metrics_files import multiprocess_environment as _environment

_values = _config.load(os.environ)
_port = os.environ.get("PORT", "8000")
_folder = _config.BASE_DIR / _values["METRICS_DIR"] / f"web-{_port}"


def on_starting(server: Any) -> None:
    _environment(_prepare(_folder))


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_folder))  # type: ignore[no-untyped-call]
