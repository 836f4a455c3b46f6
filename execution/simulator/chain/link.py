"""What changes in a Venue that settles on the local chain (`Venue(chain=...)`).

- Each match is one settlement transaction (ChainSettlement); its trades follow the receipt and
  the node's blocks: MATCHED → MINED (real hash) → CONFIRMED, or FAILED when it reverted.
- Markets are registered with ConditionalTokens; the house wallet gets ample pUSD and shares.
- `set_balance` and `set_allowance` write the chain; reported balances are read from it.
- The matching ledger learns a wallet's chain balances the first time the wallet places an order
  (or from `set_balance`); from then on it moves with the venue's own matches. Transfers made on
  the chain outside the venue after that are not seen by the ledger: a match they make unpayable
  reverts on chain and its trades end FAILED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .settlement import ChainSettlement, Fill, MatchJob

if TYPE_CHECKING:
    from ..models import Market, Order, Trade
    from ..venue import Venue


class ChainLink:
    def __init__(self, venue: Venue, info: Any, *, confirmations: int) -> None:
        self.venue = venue
        self.settlement = ChainSettlement(info, confirmations=confirmations, apply=self.apply)
        self.synced: set[str] = set()

    @classmethod
    def create(cls, venue: Venue, info: Mapping[str, Any] | str | Path | Any, *, confirmations: int) -> ChainLink:
        link = cls(venue, info, confirmations=confirmations)
        link.settlement.start()
        return link

    def rebuilt(self) -> None:
        """The venue forgot everything (reset): forget what it knew of the chain's wallets too."""
        self.settlement.reset()
        self.synced.clear()
        self.venue.engine.on_match = self.on_match
        self.settlement.house_attach(self.venue.house, [])

    def market_added(self, market: Market) -> None:
        tokens = [t.token_id for t in market.tokens]
        self.settlement.market_attach(market.condition_id, tokens)
        self.settlement.house_attach(self.venue.house, tokens)

    def house_changed(self) -> None:
        self.settlement.house_attach(self.venue.house, list(self.venue.engine.markets_by_token))

    # -- balances -------------------------------------------------------------------------------

    def token_ids(self) -> list[str]:
        with self.venue.lock:
            return list(self.venue.engine.markets_by_token)

    def balances(self, address: str) -> tuple[int, dict[str, int], bool]:
        found = self.settlement.balances(address, self.token_ids())
        return found.pusd, found.shares, found.approved

    def sync(self, payload: object) -> None:
        """Load the chain balances of order makers the ledger has not seen yet (before the venue's lock)."""
        bodies = payload if isinstance(payload, list) else [payload]
        for body in bodies:
            order = body.get("order") if isinstance(body, dict) else None
            maker = order.get("maker") if isinstance(order, dict) else None
            if not isinstance(maker, str) or maker.lower() in self.synced or maker.lower() == self.venue.house:
                continue
            try:
                pusd, shares, approved = self.balances(maker)
            except ValueError:  # not an address: the venue's own checks answer that
                continue
            with self.venue.lock:
                if maker.lower() not in self.synced:
                    account = self.venue.ledger.account(maker.lower())
                    account.pusd, account.approved = pusd, approved
                    account.shares = {t: s for t, s in shares.items() if s}
                    self.synced.add(maker.lower())

    def set_balance(self, address: str, *, pusd: int | None, shares: Mapping[str, int], approved: bool) -> None:
        self.settlement.set_balance(address, pusd=pusd, shares=shares, approved=approved)
        self.synced.add(address.lower())

    def set_approved(self, address: str, approved: bool) -> None:
        self.settlement.set_approved(address, approved)

    # -- settlement -----------------------------------------------------------------------------

    def on_match(self, order: Order, market: Market, trades: list[Trade]) -> None:
        token_id = int(order.token_id)
        makers = [
            Fill(
                order_hash=t.maker_order_id,
                maker=t.maker_address,
                side=0 if t.maker_side == "BUY" else 1,
                token_id=token_id,
                making=t.usdc if t.maker_side == "BUY" else t.size,
                taking=t.size if t.maker_side == "BUY" else t.usdc,
            )
            for t in trades
        ]
        usdc, shares, fee = sum(t.usdc for t in trades), sum(t.size for t in trades), sum(t.fee for t in trades)
        taker = Fill(
            order_hash=order.order_id,
            maker=order.maker,
            side=0 if order.side == "BUY" else 1,
            token_id=token_id,
            making=usdc if order.side == "BUY" else shares,
            taking=shares if order.side == "BUY" else usdc,
            fee=fee,
        )
        self.settlement.submit(
            MatchJob(
                trade_ids=[t.trade_id for t in trades],
                exchange="neg_risk_exchange" if market.neg_risk else "exchange",
                taker=taker,
                makers=makers,
                fail=any(t.fail for t in trades),
            )
        )

    def apply(self, trade_ids: Sequence[str], status: str, tx_hash: str, block: int | None) -> None:
        """The node's answer for one settlement, applied to its trades under the venue's lock."""
        venue = self.venue
        with venue.lock:
            now = venue.clock()
            for trade_id in trade_ids:
                trade = venue.engine.trades.get(trade_id)
                if trade is None or trade.status in ("CONFIRMED", "FAILED"):
                    continue
                if status == "FAILED":
                    trade.fail = True
                    venue.engine.advance_trade(trade, now, target="FAILED")
                    trade.transaction_hash = tx_hash
                    continue
                trade.transaction_hash = tx_hash
                trade.status = "CONFIRMED" if status == "CONFIRMED" else "MINED"
                trade.last_update = int(now)

    def advance(self, *, to: str) -> None:
        if to not in ("MINED", "CONFIRMED"):
            raise ValueError("with a chain, trades move to MINED or CONFIRMED with the node's blocks")
        self.settlement.settle_now(to=to)

    def open(self) -> None:
        self.settlement.start()

    def close(self) -> None:
        self.settlement.stop()
