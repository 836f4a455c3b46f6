"""Settings of the benchmark's worker processes: production settings plus the query counter.

``make bench`` starts ``rundramatiq`` with ``DJANGO_SETTINGS_MODULE=bench.settings``; nothing
else loads this module, so the counting middleware never runs in production.
"""

from __future__ import annotations

from polyhunter.settings import *  # noqa: F403
from polyhunter.settings import DRAMATIQ_BROKER

DRAMATIQ_BROKER = {
    **DRAMATIQ_BROKER,
    "MIDDLEWARE": [*DRAMATIQ_BROKER["MIDDLEWARE"], "bench.dbcount.QueryCounter"],
}
