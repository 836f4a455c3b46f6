"""Run leader trades through the live copy pipeline one at a time, the way a worker would take
them (detection's recording path, fan-out, execute with paper fills against the simulated venue),
so a test can compare every row with "what copying would have made"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from copytrading.deployments import deployment_current
from copytrading.detection.replay import tape_replay
from copytrading.fanout import fanout_leader_trade
from copytrading.leaders.stats import historic_trades
from copytrading.models import LeaderTrade
from copytrading.pipeline.execute import copytrades_execute
from execution.simulator import VenueSimulator
from execution.venue.gateway import default_gateway


def run_live(*, venue: VenueSimulator, rows: Sequence[Mapping[str, Any]]) -> list[LeaderTrade]:
    """Each trade of the tape (oldest first): the venue's book moves to the leader's price (as the
    demo's venue does), detection records it as happening now, fan-out and execute run to the end.
    Returns the recorded leader trades in tape order."""
    deployment = deployment_current()
    recorded = []
    for trade in historic_trades(rows):
        legs = [
            r
            for r in rows
            if str(r.get("transactionHash", "")).lower() == trade.tx_hash and r.get("asset") == trade.token_id
        ]
        venue.inject_leader_trade(
            legs[0]["proxyWallet"], trade.token_id, trade.side, str(trade.shares), str(trade.price),
            transaction_hash=trade.tx_hash,
        )  # fmt: skip
        default_gateway.cache_clear()  # the book just moved: no quote from before it
        summary = tape_replay(rows=legs, speed=0)
        assert summary.fanned_out == 1, summary.lines()
        leader_trade = LeaderTrade.objects.get(tx_hash=trade.tx_hash, token_id=trade.token_id, side=trade.side)
        fanned = fanout_leader_trade(leader_trade_id=leader_trade.id, deployment=deployment)
        if fanned.pending_ids:
            copytrades_execute(ids=fanned.pending_ids, deployment=deployment)
        recorded.append(leader_trade)
    return recorded
