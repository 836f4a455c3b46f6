"""S35 (docs/reliability.md): a Hypothesis state machine over the copy pipeline and the simulated
venue — new leader signals, deliveries of execute messages (1-3 times each), workers killed after
signing and before their POST (real processes, SIGKILLed), venue faults on the next POST (answer
lost, answer late past the read timeout, 5xx before and after the commit, 429, 425), the clock
moving on, and the reconciler and sweeper — in any order. I1, I2 and I4 hold after every step;
once the machine stops, faults end and the reconciler settles everything, every copy is terminal
and no copy ever had two orders at the venue. Hypothesis shrinks any failing sequence to a
minimal one and prints it (then keep it here as a regression test).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from accounts.models import TradingAccount
from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade, Position, WatchedWallet
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.leases import lease_length
from copytrading.pipeline.reconcile import reconcile_due
from copytrading.pipeline.sweep import STALE_AFTER, sweep_deployment
from execution.venue.gateway import default_gateway
from tests.copytrading.pipeline.conftest import SCENARIO
from tests.copytrading.reliability.conftest import Checker, Spawner
from tests.copytrading.reliability.harness import Venue, follow, leader_buy, reconcile_until_settled, speed_account
from tests.copytrading.reliability.invariants import (
    Caps,
    i1_one_order_hash_per_copy,
    i2_fills_and_caps_hold,
    i4_every_venue_order_maps_to_a_copy,
)
from tests.factories import make_leader

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]
READ_TIMEOUT = 0.5
FAULTS: dict[str, dict[str, Any]] = {
    "answer lost": {"kind": "drop"},
    "answer late": {"kind": "delay_after", "delay_ms": 1_500},
    "5xx after commit": {"kind": "error_after", "status": 502},
    "5xx before": {"kind": "error_before", "status": 500},
    "429": {"kind": "rate_limit"},
    "425": {"kind": "too_early"},
}


class CopyMachine(RuleBasedStateMachine):
    """Set on a subclass by the test: the venue, the deployment, the accounts, a process spawner."""

    venue: ClassVar[Venue]
    deployment: ClassVar[Deployment]
    accounts: ClassVar[list[TradingAccount]]
    spawn: ClassVar[Spawner]
    copies = Bundle("copies")

    def __init__(self) -> None:
        super().__init__()
        self.clock = timezone.now()

    def _now(self) -> datetime:
        self.clock = max(self.clock, timezone.now())
        return self.clock

    @initialize(target=copies)
    def first_signal(self) -> Any:
        return self.leader_signal(followers=2)

    @rule(target=copies, followers=st.integers(1, 2))
    def leader_signal(self, followers: int) -> Any:
        leader = make_leader()
        for account in self.accounts[:followers]:
            follow(account, leader=leader)
        trade = leader_buy(leader)
        return multiple(*fanout_leader_trade(leader_trade_id=trade.id, deployment=self.deployment).pending_ids)

    @rule(copy=copies, times=st.integers(1, 3))
    def deliver(self, copy: int, times: int) -> None:
        for _ in range(times):
            copytrades_execute(ids=[copy], deployment=self.deployment)

    @rule(fault=st.sampled_from(sorted(FAULTS)))
    def venue_fault_on_next_post(self, fault: str) -> None:
        spec = FAULTS[fault]
        self.venue.sim.add_fault(spec["kind"], "POST /order", count=1, **{k: v for k, v in spec.items() if k != "kind"})

    @rule(copy=copies)
    def worker_killed_after_signing(self, copy: int) -> None:
        worker = self.spawn("execute", str(copy), "--stop-before", "post")
        while True:
            line = worker.expect("")
            if line.startswith("BEFORE_POST"):
                worker.wait_stopped()
                worker.kill_group()
                worker.wait()
                return
            if line.startswith("DONE"):  # nothing to claim: the copy was taken or is done
                worker.wait()
                return

    @rule(seconds=st.sampled_from([2, 10, 40, 200]))
    def time_passes(self, seconds: int) -> None:
        self.clock = self._now() + timedelta(seconds=seconds)

    @rule()
    def reconciler_and_sweeper_run(self) -> None:
        now = self._now()
        sweep_deployment(deployment=self.deployment, now=now)
        reconcile_due(deployment=self.deployment, now=now)

    @invariant()
    def one_order_per_copy_caps_hold_and_every_venue_order_is_ours(self) -> None:
        rows = list(CopyTrade.objects.select_related("relationship", "account").order_by("id"))
        orders, trades = self.venue.sim.orders(), self.venue.sim.trades()
        findings = [
            *i1_one_order_hash_per_copy(rows, orders, self.venue.posts_by_signature()),
            *i2_fills_and_caps_hold(rows, trades, Caps()),
            *i4_every_venue_order_maps_to_a_copy(rows, orders, trades),
        ]
        assert not findings, [finding.message for finding in findings]

    def teardown(self) -> None:
        try:
            self.venue.sim.clear_faults()
            # The sweeper's resend of what is still pending, then time enough for every rule.
            pending = CopyTrade.objects.filter(status=CopyTrade.Status.PENDING).values_list("id", flat=True)
            copytrades_execute(ids=list(pending), deployment=self.deployment)
            # Past the leases of killed workers while the signals are still fresh: what was signed
            # and never sent is sent now (the same bytes); then long enough for every deadline.
            soon = self._now() + lease_length() + timedelta(seconds=5)
            reconcile_until_settled(self.deployment, venue=self.venue, start=soon)
            later = self._now() + STALE_AFTER + timedelta(minutes=1)
            sweep_deployment(deployment=self.deployment, now=later)
            reconcile_until_settled(self.deployment, venue=self.venue, start=later)
            left = list(CopyTrade.objects.exclude(status__in=CopyTrade.TERMINAL).values_list("id", "status"))
            assert not left, f"not terminal after settling: {left}"
            self.one_order_per_copy_caps_hold_and_every_venue_order_is_ours()
        finally:
            self._forget()

    def _forget(self) -> None:
        """A fresh world for the next example: no rows, a fresh venue with the same accounts."""
        CopyTrade.objects.all().delete()
        Position.objects.all().delete()
        LeaderTrade.objects.all().delete()
        CopyRelationship.objects.all().delete()
        WatchedWallet.objects.all().delete()
        self.venue.sim.reset(SCENARIO)
        self.venue.proxy.reset()
        for account in self.accounts:
            self.venue.sim.credentials(account.signer_address)  # the same derived key, active again
            self.venue.sim.set_balance(account.signer_address, pusd="1000")


def test_s35_any_interleaving_of_signals_deliveries_kills_faults_time_and_reconciles_keeps_i1_to_i4(
    venue: Venue, deployment: Deployment, spawn: Spawner, check: Checker
) -> None:
    machine = type(
        "Machine",
        (CopyMachine,),
        {
            "venue": venue,
            "deployment": deployment,
            "accounts": [speed_account(venue, n=n) for n in range(2)],
            "spawn": staticmethod(spawn),
        },
    )
    with override_settings(VENUE_READ_TIMEOUT=READ_TIMEOUT):
        default_gateway.cache_clear()
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=8,
                stateful_step_count=12,
                deadline=None,
                database=None,
                derandomize=True,  # the same interleavings every run: a failure reproduces
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    default_gateway.cache_clear()
    check()
