from __future__ import annotations

from copytrading.management.passes import DuePassCommand
from copytrading.pipeline.fleet_settle import fleet_settle, fleet_settle_due


class Command(DuePassCommand):
    help = (
        "Settle confirmed fleet fills on chain (push the shares to the follower, reimburse the float): the "
        "settle actor's service, for every due copy. Loops every 2 s until SIGTERM; --once runs one pass."
    )
    label = "copy"

    def due(self) -> list[int]:
        return fleet_settle_due()

    def one(self, item_id: int) -> str:
        return fleet_settle(item_id)
