"""The simulated venue's state behind one lock, and its thread-safe Python control API.

`Venue` is what both the HTTP handlers and tests talk to; `VenueSimulator` (server.py) adds the
HTTP server. Every public method takes the lock, so tests may call them from any thread while the
server runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import shapes
from .accounts import ApiKeys, Ledger
from .constants import POLYGON_CHAIN_ID, SUPPORTED_TICK_SIZES, UNLIMITED_ALLOWANCE
from .crypto import address_bytes, hex_address
from .endpoints import VenueEndpoints
from .engine import Engine
from .faults import FaultBook
from .heartbeats import HeartbeatBook
from .models import (
    ActivityRow,
    ApiCredentials,
    Fault,
    Market,
    Order,
    Trade,
    TradeStatus,
    TradingMode,
    price_decimal,
    to_base_units,
    to_price_e4,
    units_decimal,
)
from .relayer import RelayerEndpoints
from .scenario import BookSpec, LeaderTradeSpec, Scenario, dec, house_book, leader_trade
from .sessions import SessionRegistry
from .wallets import funder_for

if TYPE_CHECKING:
    from .chain.link import ChainLink

# The wallet behind seeded book liquidity: unbounded balances, never moves.
HOUSE_WALLET = "0x5151515151515151515151515151515151515151"
DEFAULT_CREDENTIALS_SEED = b"polyhunter venue simulator"
_TRADING_MODES = ("normal", "cancel_only", "disabled", "post_only")


class Venue(VenueEndpoints, RelayerEndpoints):
    def __init__(
        self,
        scenario: Scenario | Mapping[str, Any] | str | Path | None = None,
        *,
        chain_id: int = POLYGON_CHAIN_ID,
        auth_window_s: int = 30,
        seed: int = 0,
        credentials_seed: bytes = DEFAULT_CREDENTIALS_SEED,
        house_wallet: str = HOUSE_WALLET,
        clock: Callable[[], float] = time.time,
        chain: Any = None,
        chain_confirmations: int = 2,
    ) -> None:
        """`chain`: a ChainInfo, its JSON file or dict (run_local_chain) — then every match settles there."""
        self.lock = threading.RLock()
        self.clock = clock
        self._seed = seed
        self._credentials_seed = credentials_seed
        self._auth_window_s = auth_window_s
        self.chain_id = chain_id
        self.house = house_wallet.lower()
        self.version = 2
        self.trading_mode: TradingMode = "normal"
        self.min_marketable_buy = Decimal(1)
        self.chain: ChainLink | None = None
        if chain is not None:
            # Imported here: web3 is loaded only by venues that settle on a chain.
            from .chain.link import ChainLink

            self.chain = ChainLink.create(self, chain, confirmations=chain_confirmations)
        self._build()
        if scenario is not None:
            self.load_scenario(scenario)

    def _build(self) -> None:
        self.ledger = Ledger(self.house)
        self.engine = Engine(ledger=self.ledger, seed=self._seed)
        self.api_keys = ApiKeys(seed=self._credentials_seed, chain_id=self.chain_id, window_s=self._auth_window_s)
        self.faults = FaultBook(self._seed)
        self.heartbeats = HeartbeatBook()
        self.dropped_notifications: dict[str, set[int]] = {}
        self.engine.trade_should_fail = self.faults.take_trade_failure
        self.sessions = SessionRegistry()
        self._relayed: dict[str, dict[str, object]] = {}
        self._deposit_owners: dict[bytes, bytes] = {}
        self.recenter_on_leader_trades = False
        self.house_levels = 5
        self.house_level_size = Decimal(1000)
        if self.chain is not None:
            self.chain.rebuilt()

    # -- scenario and set-up ----------------------------------------------------------------------

    def load_scenario(self, scenario: Scenario | Mapping[str, Any] | str | Path) -> None:
        """Add a scenario's markets, books, balances and leader trades (on top of what is there)."""
        if isinstance(scenario, str | Path):
            scenario = Scenario.from_file(scenario)
        elif not isinstance(scenario, Scenario):
            scenario = Scenario.from_dict(scenario)
        with self.lock:
            if scenario.chain_id is not None:
                self.chain_id = self.api_keys.chain_id = scenario.chain_id
            if scenario.house_wallet:
                self.house = self.ledger.house = scenario.house_wallet.lower()
                if self.chain is not None:
                    self.chain.house_changed()
            if scenario.manual_settlement:
                self.set_settlement(None, None)
            elif scenario.mined_after_ms is not None:
                self.set_settlement(scenario.mined_after_ms, scenario.confirmed_after_ms)
            self.recenter_on_leader_trades = scenario.recenter_on_leader_trades
            self.house_levels = scenario.house_levels
            self.house_level_size = scenario.house_level_size
            for market in scenario.markets:
                self.add_market(market)
            for spec in scenario.books:
                self.set_book(spec.token_id, spec.bids, spec.asks, replenish=spec.replenish)
            for balance in scenario.balances:
                self.set_balance(balance.address, pusd=balance.pusd, shares=balance.shares)
            for trade in scenario.leader_trades:
                self._inject(trade)

    def reset(self, scenario: Scenario | Mapping[str, Any] | str | Path | None = None) -> None:
        """Forget everything (markets, orders, trades, balances, keys, faults), then load `scenario`."""
        with self.lock:
            self.version = 2
            self.trading_mode = "normal"
            self._build()
            if scenario is not None:
                self.load_scenario(scenario)

    def add_market(self, market: Market | Mapping[str, Any]) -> None:
        if not isinstance(market, Market):
            market = Scenario.from_dict({"markets": [market]}).markets[0]
        if market.tick_size not in SUPPORTED_TICK_SIZES:
            raise ValueError(f"tick size {market.tick_size} is not one the venue supports")
        with self.lock:
            self.engine.add_market(market)
            if self.chain is not None:
                self.chain.market_added(market)

    def market(self, token_or_condition: str) -> Market:
        with self.lock:
            market = self.engine.markets.get(token_or_condition.lower()) or self.engine.markets_by_token.get(
                token_or_condition
            )
            if market is None:
                raise KeyError(token_or_condition)
            return market

    def set_market(self, condition_id: str, **changes: Any) -> None:
        """Change a market's rules in place (tick_size, accepting_orders, fee_rate, taker_delay_ms, …)."""
        with self.lock:
            market = self.engine.markets[condition_id.lower()]
            for name, value in changes.items():
                if not hasattr(market, name) or name in ("condition_id", "tokens"):
                    raise AttributeError(name)
                setattr(market, name, dec(value) if name in ("tick_size", "min_order_size", "fee_rate") else value)

    def set_book(
        self,
        token_id: str,
        bids: Iterable[tuple[Any, Any]] = (),
        asks: Iterable[tuple[Any, Any]] = (),
        *,
        replenish: bool = True,
    ) -> None:
        """Replace the house liquidity on a token: (price, size) levels; refilled after fills if `replenish`."""
        with self.lock:
            if token_id not in self.engine.markets_by_token:
                raise KeyError(f"unknown token {token_id}")
            self.engine.set_house_levels(
                token_id,
                house=self.house,
                bids=[(to_price_e4(dec(p)), to_base_units(dec(s))) for p, s in bids],
                asks=[(to_price_e4(dec(p)), to_base_units(dec(s))) for p, s in asks],
                replenish=replenish,
                now=self.clock(),
            )

    def set_balance(self, address: str, *, pusd: Any = None, shares: Mapping[str, Any] | None = None) -> None:
        """Set (not add to) a wallet's pUSD and/or share balances, in units (Decimal/str)."""
        with self.lock:
            account = self.ledger.account(address.lower())
            if pusd is not None:
                account.pusd = to_base_units(dec(pusd))
            for token_id, amount in (shares or {}).items():
                account.shares[str(token_id)] = to_base_units(dec(amount))
            if self.chain is not None:
                self.chain.set_balance(
                    address,
                    pusd=None if pusd is None else account.pusd,
                    shares={str(t): account.shares[str(t)] for t in shares or {}},
                    approved=account.approved,
                )

    def balances(self, address: str) -> dict[str, Any]:
        """{"pusd": Decimal, "shares": {token_id: Decimal}, "approved": bool} of a wallet (from the chain if any)."""
        if self.chain is not None:
            pusd, shares, approved = self.chain.balances(address)
            return {
                "pusd": units_decimal(pusd),
                "shares": {t: units_decimal(s) for t, s in shares.items() if s},
                "approved": approved,
            }
        with self.lock:
            account = self.ledger.account(address.lower())
            return {
                "pusd": units_decimal(account.pusd),
                "shares": {t: units_decimal(s) for t, s in account.shares.items() if s},
                "approved": account.approved,
            }

    def set_allowance(self, address: str, approved: bool) -> None:
        """Without approval every order of this wallet is refused with "not enough balance / allowance"."""
        with self.lock:
            self.ledger.account(address.lower()).approved = approved
            if self.chain is not None:
                self.chain.set_approved(address, approved)

    def set_restriction(self, address: str, restriction: str | None) -> None:
        """None, "banned", "closed_only" (BUYs refused) or "deposit_wallet_flow" (only type-3 orders)."""
        if restriction not in (None, "banned", "closed_only", "deposit_wallet_flow"):
            raise ValueError(f"unknown restriction {restriction!r}")
        with self.lock:
            self.ledger.account(address.lower()).restriction = restriction

    def credentials(self, address: str, nonce: int = 0) -> ApiCredentials:
        """The L2 credentials of a signer, created if needed (what /auth/api-key would return)."""
        with self.lock:
            return self.api_keys.issue(hex_address(address_bytes(address)), nonce)

    def register_deposit_wallet(self, wallet: str, owner: str) -> None:
        """Declare a deposit wallet's owner when it is not the CREATE2 address of that owner."""
        with self.lock:
            self._deposit_owners[address_bytes(wallet)] = address_bytes(owner)

    # -- leader trades ----------------------------------------------------------------------------

    def inject_leader_trade(
        self,
        wallet: str,
        token_id: str,
        side: str,
        size: Any,
        price: Any,
        *,
        timestamp: int | None = None,
        transaction_hash: str | None = None,
        taker: bool = True,
        name: str = "",
        pseudonym: str = "",
    ) -> dict[str, object]:
        """A trade of some outside wallet, shown by the Data API /trades and /activity of that wallet."""
        spec = leader_trade(
            {
                "wallet": wallet,
                "token_id": token_id,
                "side": side,
                "size": size,
                "price": price,
                "timestamp": timestamp,
                "transaction_hash": transaction_hash,
                "taker": taker,
                "name": name,
                "pseudonym": pseudonym,
            }
        )
        with self.lock:
            return shapes.data_trade(self._inject(spec))

    def _inject(self, spec: LeaderTradeSpec) -> ActivityRow:
        engine = self.engine
        market = engine.markets_by_token.get(spec.token_id)
        if market is None:
            raise KeyError(f"unknown token {spec.token_id}")
        if spec.side not in ("BUY", "SELL"):
            raise ValueError("side must be BUY or SELL")
        outcome, index = market.outcome_of(spec.token_id)
        row = ActivityRow(
            wallet=spec.wallet,
            token_id=spec.token_id,
            condition_id=market.condition_id,
            side=spec.side,  # type: ignore[arg-type]
            size=spec.size,
            price=spec.price,
            timestamp=spec.timestamp if spec.timestamp is not None else int(self.clock()),
            transaction_hash=spec.transaction_hash or engine.random_hash(),
            taker=spec.taker,
            sequence=engine.next_sequence(),
            title=market.title,
            slug=market.slug,
            event_slug=market.event_slug,
            icon=market.icon,
            outcome=outcome,
            outcome_index=index,
            name=spec.name,
            pseudonym=spec.pseudonym,
        )
        engine.activity.setdefault(spec.wallet, []).append(row)
        if self.recenter_on_leader_trades:
            self._recenter(market, spec)
        return row

    def _recenter(self, market: Market, spec: LeaderTradeSpec) -> None:
        size = max(self.house_level_size, 2 * spec.size)
        book: BookSpec = house_book(
            spec.token_id,
            centre=spec.price,
            tick=market.tick_size,
            levels=self.house_levels,
            size=size,
            taker_side=spec.side,
        )
        self.set_book(spec.token_id, book.bids, book.asks, replenish=True)

    # -- faults, modes, settlement ----------------------------------------------------------------

    def add_fault(
        self,
        kind: str,
        endpoint: str = "*",
        *,
        count: int | None = 1,
        probability: float = 1.0,
        delay_ms: int = 0,
        status: int | None = None,
        retry_after_s: int = 1,
    ) -> Fault:
        """Arm a fault (see models.Fault and docs/simulator.md); returns it with its id."""
        with self.lock:
            return self.faults.add(
                Fault(
                    kind=kind,
                    endpoint=endpoint,
                    count=count,
                    probability=probability,
                    delay_ms=delay_ms,
                    status=status,
                    retry_after_s=retry_after_s,
                )
            )

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def faults_remove(self, fault_id: int) -> bool:
        with self.lock:
            return self.faults.remove(fault_id)

    def active_faults(self) -> list[Fault]:
        with self.lock:
            return self.faults.active()

    def set_trading_mode(self, mode: str) -> None:
        """normal, cancel_only, disabled (no orders nor cancels) or post_only."""
        if mode not in _TRADING_MODES:
            raise ValueError(f"mode must be one of {_TRADING_MODES}")
        with self.lock:
            self.trading_mode = mode  # type: ignore[assignment]

    def set_version(self, version: int) -> None:
        """What GET /version answers (the gateway's canary refuses to trade on a change)."""
        with self.lock:
            self.version = version

    def set_settlement(self, mined_after_ms: int | None, confirmed_after_ms: int | None = None) -> None:
        """Automatic MATCHED → MINED → CONFIRMED timing for new trades; None means by advance_trades only."""
        with self.lock:
            engine = self.engine
            engine.mined_after_s = None if mined_after_ms is None else mined_after_ms / 1000
            if confirmed_after_ms is None:
                engine.confirmed_after_s = None if mined_after_ms is None else engine.mined_after_s
            else:
                engine.confirmed_after_s = confirmed_after_ms / 1000

    def advance_trades(
        self, trade_ids: Sequence[str] | None = None, *, to: TradeStatus = "CONFIRMED"
    ) -> list[dict[str, object]]:
        """Move trades (all open ones by default) towards `to` now, e.g. to="MINED".

        With a chain: the queued settlements are sent and blocks mined until they reach `to`.
        """
        if self.chain is not None:
            with self.lock:
                selected = self._select_trades(trade_ids)
            self.chain.advance(to=to)
            with self.lock:
                return [self._trade_view(t) for t in selected]
        with self.lock:
            now = self.clock()
            selected = self._select_trades(trade_ids)
            for trade in selected:
                self.engine.advance_trade(trade, now, target=to)
            return [self._trade_view(t) for t in selected]

    def fail_trades(self, trade_ids: Sequence[str] | None = None, *, settle: bool = True) -> list[dict[str, object]]:
        """Make trades fail settlement: RETRYING, then FAILED (balances restored) unless settle=False."""
        if self.chain is not None:
            raise ValueError(
                "with a chain, a trade fails when its settlement transaction reverts: "
                "add a trade_failure fault before the match"
            )
        with self.lock:
            now = self.clock()
            selected = [t for t in self._select_trades(trade_ids) if t.status in ("MATCHED", "MINED")]
            for trade in selected:
                trade.fail = True
                trade.status = "RETRYING"
                trade.transaction_hash = ""
                trade.last_update = int(now)
                if settle:
                    self.engine.advance_trade(trade, now, target="FAILED")
                elif trade.confirm_due_at is not None:
                    self.engine.schedule_settlement(trade, max(now, trade.confirm_due_at))
            return [self._trade_view(t) for t in selected]

    def _select_trades(self, trade_ids: Sequence[str] | None) -> list[Trade]:
        if trade_ids is None:
            return [t for t in self.engine.trades.values() if t.status not in ("CONFIRMED", "FAILED")]
        return [self.engine.trades[t] for t in trade_ids]

    def place(self, payload: object, credentials: ApiCredentials) -> dict[str, object]:
        if self.chain is not None:
            self.chain.sync(payload)
        return super().place(payload, credentials)

    def place_batch(self, payloads: object, credentials: ApiCredentials) -> list[dict[str, object]]:
        if self.chain is not None:
            self.chain.sync(payloads)
        return super().place_batch(payloads, credentials)

    def balance_allowance(self, credentials: ApiCredentials, params: Mapping[str, str]) -> dict[str, object]:
        answer = super().balance_allowance(credentials, params)
        if self.chain is None:
            return answer
        # The same wallet (the one the signature type implies) and spenders, with the chain's numbers.
        signature_type = int(params.get("signature_type", "0") or "0")
        wallet = hex_address(funder_for(address_bytes(credentials.address), signature_type))
        pusd, shares, approved = self.chain.balances(wallet)
        collateral = params.get("asset_type", "COLLATERAL") == "COLLATERAL"
        allowances = answer["allowances"]
        assert isinstance(allowances, dict)
        return {
            "balance": str(pusd if collateral else shares.get(params.get("token_id", ""), 0)),
            "allowances": {spender: str(UNLIMITED_ALLOWANCE if approved else 0) for spender in allowances},
        }

    def close(self) -> None:
        """Stop the chain settlement worker (a venue without a chain has nothing to stop)."""
        if self.chain is not None:
            self.chain.close()

    def run_due(self) -> None:
        """Run what is due now: taker delays, GTD expiry, automatic settlement, silent heartbeats."""
        with self.lock:
            now = self.clock()
            self.engine.run_due(now)
            for key in self.heartbeats.expired(now):
                for order in list(self.engine.orders_by_owner.get(key, {}).values()):
                    if order.is_open:
                        self.engine.cancel(order)

    # -- inspection -------------------------------------------------------------------------------

    def order(self, order_id: str) -> dict[str, object] | None:
        with self.lock:
            self.engine.run_due(self.clock())
            order = self.engine.orders.get(order_id.lower())
            return None if order is None or order.house else self._order_view(order)

    def orders(self, *, maker: str | None = None, status: str | None = None) -> list[dict[str, object]]:
        with self.lock:
            self.engine.run_due(self.clock())
            out = []
            for order in self.engine.orders.values():
                if order.house or (maker and order.maker != maker.lower()) or (status and order.status != status):
                    continue
                out.append(self._order_view(order))
            return out

    def trades(self, *, wallet: str | None = None, status: str | None = None) -> list[dict[str, object]]:
        with self.lock:
            self.engine.run_due(self.clock())
            out = []
            for trade in self.engine.trades.values():
                if wallet and wallet.lower() not in (trade.taker_address, trade.maker_address):
                    continue
                if status and trade.status != status:
                    continue
                out.append(self._trade_view(trade))
            return out

    def state(self) -> dict[str, object]:
        with self.lock:
            engine = self.engine
            return {
                "version": self.version,
                "trading_mode": self.trading_mode,
                "chain_id": self.chain_id,
                "markets": len(engine.markets),
                "orders": sum(1 for o in engine.orders.values() if not o.house),
                "open_orders": sum(1 for o in engine.orders.values() if not o.house and o.is_open),
                "trades": len(engine.trades),
                "fees_collected": units_decimal(self.ledger.fees_collected),
                "faults": len(self.faults.active()),
            }

    def _order_view(self, order: Order) -> dict[str, object]:
        view = shapes.open_order(order, self.engine.markets[order.condition_id])
        view["signer"] = order.signer
        view["maker_amount"] = str(order.maker_amount)
        view["taker_amount"] = str(order.taker_amount)
        return view

    def _trade_view(self, trade: Trade) -> dict[str, object]:
        return {
            "id": trade.trade_id,
            "status": trade.status,
            "taker_order_id": trade.taker_order_id,
            "maker_order_id": trade.maker_order_id,
            "token_id": trade.token_id,
            "side": trade.side,
            "size": units_decimal(trade.size),
            "price": price_decimal(trade.price_e4),
            "usdc": units_decimal(trade.usdc),
            "fee": units_decimal(trade.fee),
            "taker_address": trade.taker_address,
            "maker_address": trade.maker_address,
            "transaction_hash": trade.transaction_hash,
            "match_time": trade.match_time,
        }


__all__ = ["HOUSE_WALLET", "Venue"]
