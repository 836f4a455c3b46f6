"""Per-process metric files of multi-process servers (gunicorn workers, rundramatiq pools).

``prometheus_client`` keeps each process's counters in ``PROMETHEUS_MULTIPROC_DIR`` when that
variable is set *before* it is imported; a scrape then sums the files of the folder. Each process
group gets its own folder (``METRICS_DIR/<group>``), emptied when the group starts: the files of
processes that are gone would otherwise be added to the new ones' forever.
"""

from __future__ import annotations

import os
from pathlib import Path


def metrics_folder_prepare(folder: Path) -> Path:
    """Create the group's folder and remove the files of its previous run."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)
    return folder


def multiprocess_environment(folder: Path) -> None:
    """Make this process and the processes it starts write their metrics into ``folder``."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
