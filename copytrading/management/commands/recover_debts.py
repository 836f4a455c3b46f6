from __future__ import annotations

from copytrading.management.passes import DuePassCommand
from copytrading.pipeline.fleet_settle import debt_recover
from execution.fleet.debts import debts_due


class Command(DuePassCommand):
    help = (
        "Collect due fleet debts (reimbursements that failed) through the settlement contract, exactly once "
        "each: the recovery actor's service. Loops every 60 s until SIGTERM; --once runs one pass."
    )
    label = "debt"
    default_interval = 60.0

    def due(self) -> list[int]:
        return debts_due()

    def one(self, item_id: int) -> str:
        return debt_recover(item_id)
