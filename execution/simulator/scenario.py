"""Scenarios: markets, books, balances and leader trades to seed a venue with (JSON or Python).

A scenario file is a JSON object; every key is optional (docs/simulator.md shows one in full).
Prices and sizes may be strings or numbers; they are read through `str` into Decimal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from .models import Market, Outcome


def dec(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a number: {value!r}")
    return Decimal(str(value))


@dataclass(slots=True)
class BookSpec:
    token_id: str
    bids: list[tuple[Decimal, Decimal]] = field(default_factory=list)
    asks: list[tuple[Decimal, Decimal]] = field(default_factory=list)
    replenish: bool = True


@dataclass(slots=True)
class BalanceSpec:
    address: str
    pusd: Decimal | None = None
    shares: dict[str, Decimal] = field(default_factory=dict)


@dataclass(slots=True)
class LeaderTradeSpec:
    wallet: str
    token_id: str
    side: str
    size: Decimal
    price: Decimal
    timestamp: int | None = None
    transaction_hash: str | None = None
    taker: bool = True
    name: str = ""
    pseudonym: str = ""


@dataclass(slots=True)
class Scenario:
    markets: list[Market] = field(default_factory=list)
    books: list[BookSpec] = field(default_factory=list)
    balances: list[BalanceSpec] = field(default_factory=list)
    leader_trades: list[LeaderTradeSpec] = field(default_factory=list)
    chain_id: int | None = None
    mined_after_ms: int | None = None
    confirmed_after_ms: int | None = None
    manual_settlement: bool = False
    house_wallet: str | None = None
    # Move a token's house liquidity to each injected leader trade's price (demo replays).
    recenter_on_leader_trades: bool = False
    house_levels: int = 5
    house_level_size: Decimal = Decimal(1000)

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        return cls.from_dict(json.loads(Path(path).read_text()))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Scenario:
        settlement = raw.get("settlement") or {}
        return cls(
            markets=[_market(m) for m in raw.get("markets", [])],
            books=[_book(b) for b in raw.get("books", [])],
            balances=[_balance(b) for b in raw.get("balances", [])],
            leader_trades=[leader_trade(t) for t in raw.get("leader_trades", [])],
            chain_id=raw.get("chain_id"),
            mined_after_ms=settlement.get("mined_after_ms"),
            confirmed_after_ms=settlement.get("confirmed_after_ms"),
            manual_settlement=bool(settlement.get("manual", False)),
            house_wallet=raw.get("house_wallet"),
            recenter_on_leader_trades=bool(raw.get("recenter_on_leader_trades", False)),
            house_levels=int(raw.get("house_levels", 5)),
            house_level_size=dec(raw.get("house_level_size", 1000)),
        )


def _market(raw: Mapping[str, Any]) -> Market:
    tokens = tuple(Outcome(str(t["token_id"]), str(t.get("outcome", ""))) for t in raw["tokens"])
    return Market(
        condition_id=str(raw["condition_id"]).lower(),
        tokens=tokens,
        tick_size=dec(raw.get("tick_size", "0.01")),
        neg_risk=bool(raw.get("neg_risk", False)),
        min_order_size=dec(raw.get("min_order_size", 5)),
        fee_rate=dec(raw.get("fee_rate", 0)),
        fee_exponent=int(raw.get("fee_exponent", 1)),
        accepting_orders=bool(raw.get("accepting_orders", True)),
        taker_delay_ms=int(raw.get("taker_delay_ms", 0)),
        title=str(raw.get("title", "")),
        slug=str(raw.get("slug", "")),
        event_slug=str(raw.get("event_slug", "")),
        icon=str(raw.get("icon", "")),
    )


def _levels(raw: Iterable[Any]) -> list[tuple[Decimal, Decimal]]:
    out = []
    for level in raw:
        if isinstance(level, Mapping):
            out.append((dec(level["price"]), dec(level["size"])))
        else:
            price, size = level
            out.append((dec(price), dec(size)))
    return out


def _book(raw: Mapping[str, Any]) -> BookSpec:
    return BookSpec(
        token_id=str(raw["token_id"]),
        bids=_levels(raw.get("bids", [])),
        asks=_levels(raw.get("asks", [])),
        replenish=bool(raw.get("replenish", True)),
    )


def _balance(raw: Mapping[str, Any]) -> BalanceSpec:
    return BalanceSpec(
        address=str(raw["address"]).lower(),
        pusd=None if raw.get("pusd") is None else dec(raw["pusd"]),
        shares={str(k): dec(v) for k, v in (raw.get("shares") or {}).items()},
    )


def leader_trade(raw: Mapping[str, Any]) -> LeaderTradeSpec:
    return LeaderTradeSpec(
        wallet=str(raw["wallet"]).lower(),
        token_id=str(raw["token_id"]),
        side=str(raw["side"]).upper(),
        size=dec(raw["size"]),
        price=dec(raw["price"]),
        timestamp=None if raw.get("timestamp") is None else int(raw["timestamp"]),
        transaction_hash=raw.get("transaction_hash"),
        taker=bool(raw.get("taker", True)),
        name=str(raw.get("name", "")),
        pseudonym=str(raw.get("pseudonym", "")),
    )


def complement_token_id(token_id: str) -> str:
    """A stable, realistic (77-digit CTF-style) id for the other outcome when a tape shows only one."""
    digest = int.from_bytes(keccak(text="complement:" + token_id), "big")
    return str(10**76 + digest % (9 * 10**76))


def _tick_for(prices: Iterable[Decimal]) -> Decimal:
    for tick in (Decimal("0.01"), Decimal("0.001"), Decimal("0.0001")):
        if all(p % tick == 0 for p in prices):
            return tick
    return Decimal("0.0001")


def scenario_from_activity_tape(
    rows: Iterable[Mapping[str, Any]],
    *,
    levels: int = 5,
    min_level_size: Decimal = Decimal(1000),
    fee_rate: Decimal = Decimal(0),
    min_order_size: Decimal = Decimal(5),
    include_leader_trades: bool = False,
    recenter_on_leader_trades: bool = True,
) -> Scenario:
    """Markets and deep books for every market a Data API /activity tape traded.

    One market per conditionId (the traded token plus its complement); the tick is the coarsest
    grid all of the tape's prices sit on; each token's book straddles the first price the tape
    shows for it, `levels` deep on each side, each level at least twice the tape's largest trade
    on that token, and refills as it is hit, so copies of the tape can fill.
    """
    trades = [r for r in rows if r.get("type", "TRADE") == "TRADE" and r.get("asset")]
    by_condition: dict[str, list[Mapping[str, Any]]] = {}
    for row in trades:
        by_condition.setdefault(str(row["conditionId"]).lower(), []).append(row)
    scenario = Scenario(
        recenter_on_leader_trades=recenter_on_leader_trades,
        house_levels=levels,
        house_level_size=min_level_size,
    )
    for condition_id, market_rows in by_condition.items():
        ordered = sorted(market_rows, key=lambda r: int(r.get("timestamp", 0)))
        tokens: dict[str, tuple[str, int]] = {}
        for row in ordered:
            tokens.setdefault(str(row["asset"]), (str(row.get("outcome", "")), int(row.get("outcomeIndex", 0))))
        if len(tokens) == 1:
            ((only, (outcome, index)),) = tokens.items()
            other = {"Yes": "No", "No": "Yes"}.get(outcome, "Other")
            tokens[complement_token_id(only)] = (other, 1 - index if index in (0, 1) else 1)
        outcomes = sorted(tokens.items(), key=lambda item: item[1][1])
        tick = _tick_for(dec(r["price"]) for r in ordered)
        first = ordered[0]
        scenario.markets.append(
            Market(
                condition_id=condition_id,
                tokens=tuple(Outcome(token, outcome) for token, (outcome, _i) in outcomes),
                tick_size=tick,
                min_order_size=min_order_size,
                fee_rate=fee_rate,
                title=str(first.get("title", "")),
                slug=str(first.get("slug", "")),
                event_slug=str(first.get("eventSlug", "")),
                icon=str(first.get("icon", "")),
            )
        )
        first_price: dict[str, Decimal] = {}
        largest: dict[str, Decimal] = {}
        for row in ordered:
            token = str(row["asset"])
            first_price.setdefault(token, dec(row["price"]))
            largest[token] = max(largest.get(token, Decimal(0)), dec(row["size"]))
        for token in tokens:
            if token in first_price:
                centre = first_price[token]
            else:
                sibling = next(iter(first_price))
                centre = 1 - first_price[sibling]
            size = max(min_level_size, 2 * largest.get(token, Decimal(0)))
            scenario.books.append(house_book(token, centre=centre, tick=tick, levels=levels, size=size))
    if include_leader_trades:
        for row in trades:
            scenario.leader_trades.append(
                LeaderTradeSpec(
                    wallet=str(row["proxyWallet"]).lower(),
                    token_id=str(row["asset"]),
                    side=str(row["side"]).upper(),
                    size=dec(row["size"]),
                    price=dec(row["price"]),
                    timestamp=int(row["timestamp"]),
                    transaction_hash=row.get("transactionHash"),
                    name=str(row.get("name", "")),
                    pseudonym=str(row.get("pseudonym", "")),
                )
            )
    return scenario


def house_book(
    token_id: str, *, centre: Decimal, tick: Decimal, levels: int, size: Decimal, taker_side: str = "BUY"
) -> BookSpec:
    """A replenishing book around `centre`: the side a `taker_side` trade hit starts exactly at it."""
    centre = max(tick, min(1 - tick, (centre / tick).to_integral_value() * tick))
    ask_start = centre if taker_side == "BUY" else centre + tick
    bid_start = centre - tick if taker_side == "BUY" else centre
    asks = [(ask_start + k * tick, size) for k in range(levels) if ask_start + k * tick <= 1 - tick]
    bids = [(bid_start - k * tick, size) for k in range(levels) if bid_start - k * tick >= tick]
    return BookSpec(token_id=token_id, bids=bids, asks=asks, replenish=True)
