from __future__ import annotations

from copytrading.deployments import deployment_current
from copytrading.management.passes import LoopCommand
from copytrading.models import Deployment
from copytrading.pipeline.reconcile import reconcile_due


class Command(LoopCommand):
    help = (
        "Ask the venue about this deployment's orders whose outcome is not known yet (SIGNED, UNKNOWN, "
        "DELAYED, LIVE) and follow fills to CONFIRMED. Loops every 2 s until SIGTERM; --once runs one pass."
    )

    def start(self) -> None:
        self.deployment: Deployment = deployment_current()
        self.total = 0

    def one_pass(self) -> None:
        looked = reconcile_due(deployment=self.deployment)
        if looked:
            self.stdout.write(f"looked at {looked} row(s)")
        self.total += looked

    def summary(self) -> str:
        return f"reconciled {self.total} row(s) for deployment {self.deployment.key}"
