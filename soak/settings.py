"""Settings of the soak's worker and scheduler processes: production settings plus a recorder of
every message a worker takes from Redis (``soak.messages.MessageLog``), for the secret scan.

``make soak`` starts its processes with ``DJANGO_SETTINGS_MODULE=soak.settings``; nothing else
loads this module.
"""

from __future__ import annotations

from polyhunter.settings import *  # noqa: F403
from polyhunter.settings import DRAMATIQ_BROKER

DRAMATIQ_BROKER = {
    **DRAMATIQ_BROKER,
    "MIDDLEWARE": [*DRAMATIQ_BROKER["MIDDLEWARE"], "soak.messages.MessageLog"],
}
