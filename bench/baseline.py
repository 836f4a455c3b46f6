"""The naive baseline: one process, one follower after another (the seed systems' per-subscriber loop).

For each follow of the leader: read the follow and its account, quote (market facts and book
from the same gateway and its caches as the platform), size with the same sizing functions,
sign with the same ``order_sign``, write the signed row (SIGNED with its hash, before the POST,
as the platform does), POST with the same ``order_post`` over the same shared client, and write
the answer. Nothing is batched and nothing runs concurrently. It uses the quote cache on purpose,
so the ratio measures concurrency and batching, not caching.

Lives in bench/, never in the app.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from bench.world import LEADER_SHARES, PRICE, Market
from copytrading.deployments import deployment_current
from copytrading.models import CopyRelationship, CopyTrade, LeaderTrade, WatchedWallet
from execution.sizing import Skip, protect, target_usdc
from execution.venue.gateway import default_gateway
from execution.venue.orders import OrderRequest
from execution.venue.services import order_post
from execution.venue.signing import order_sign


@dataclass(frozen=True)
class BaselineResult:
    orders: int
    seconds: float
    statuses: dict[str, int]

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


def baseline_run(*, leader: str, market: Market, tx_hash: str) -> BaselineResult:
    wallet = WatchedWallet.objects.get(address=leader)
    now = timezone.now()
    trade = LeaderTrade.objects.create(
        leader=wallet,
        dedupe_key=f"{leader}:{tx_hash}:{market.token_id}:BUY",
        source=LeaderTrade.Source.ONCHAIN,
        tx_hash=tx_hash,
        token_id=market.token_id,
        condition_id=market.condition_id,
        side="BUY",
        price=PRICE,
        shares=LEADER_SHARES,
        usdc=LEADER_SHARES * PRICE,
        occurred_at=now,
        detected_at=now,
        # Never fanned out by the platform: the loop below is its only consumer.
        status=LeaderTrade.Status.FANNED_OUT,
    )
    deployment = deployment_current()
    gateway = default_gateway()
    follow_ids = list(
        CopyRelationship.objects.filter(leader=wallet, status=CopyRelationship.Status.ACTIVE)
        .order_by("id")
        .values_list("id", flat=True)
    )
    statuses: dict[str, int] = {}
    started = time.perf_counter()
    for follow_id in follow_ids:
        follow = CopyRelationship.objects.select_related("account").get(id=follow_id)
        info = gateway.market_info(market.token_id)
        book = gateway.book(market.token_id)
        amount = target_usdc(
            mode=follow.sizing_mode,
            value=Decimal(follow.sizing_value),
            leader_usdc=Decimal(trade.usdc),
            min_usdc=follow.min_usdc_per_trade,
            max_usdc=follow.max_usdc_per_trade,
        )
        sized = protect(
            side="BUY",
            amount=amount,
            leader_price=Decimal(trade.price),
            slippage_bps=follow.slippage_bps,
            tick=info.tick_size,
            best_price=book.best_ask,
        )
        if isinstance(sized, Skip):
            statuses["skipped"] = statuses.get("skipped", 0) + 1
            continue
        request = OrderRequest.market_buy(token_id=market.token_id, amount=sized.amount, max_price=sized.limit_price)
        payload = order_sign(account=follow.account, request=request, market=info)
        signed_at = timezone.now()
        row = CopyTrade.objects.create(
            relationship=follow,
            leader_trade=trade,
            account=follow.account,
            deployment=deployment,
            side="BUY",
            token_id=market.token_id,
            status=CopyTrade.Status.SIGNED,
            signed_order=payload.to_json(),
            order_hash=payload.order_hash,
            planned_price=sized.limit_price,
            planned_usdc=sized.notional_usdc,
            signed_at=signed_at,
            submit_count=1,
            deadline_at=signed_at + timedelta(minutes=10),
        )
        sent_at = timezone.now()
        answer = order_post(account=follow.account, payload=payload)
        status = CopyTrade.Status.FILLED if answer.kind == "placed" and answer.status == "matched" else answer.kind
        CopyTrade.objects.filter(id=row.id).update(
            status=status if status in CopyTrade.Status.values else CopyTrade.Status.UNKNOWN,
            venue_status=(answer.status or answer.reason)[:40],
            submitted_at=sent_at,
            recorded_at=timezone.now(),
        )
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return BaselineResult(orders=len(follow_ids), seconds=time.perf_counter() - started, statuses=statuses)
