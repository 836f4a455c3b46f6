"""What each account and follow has committed, for the caps (invariant I2). A cap is what the
follower pays, fees included.

An order counts from the moment it is signed: SIGNED, UNKNOWN, DELAYED and LIVE rows count at
their full planned notional plus the most taker fee they can pay (their outcome is not known, so
it is assumed spent at the worst fee), FILLED rows at what the fill cost plus that worst-case fee
(the real fee is known once the trades are confirmed), CONFIRMED rows at what they cost, real fee
included. Only BUY copies spend; exits never count against a cap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from typing import Any, cast

from django.db import connection
from django.db.models import DecimalField, Value

from copytrading.models import CopyTrade, Position

ZERO = Decimal(0)
_OPEN = [CopyTrade.Status.SIGNED, CopyTrade.Status.UNKNOWN, CopyTrade.Status.DELAYED, CopyTrade.Status.LIVE]
# A fleet fill is at cost from its confirmation on: SETTLEMENT_PENDING, then SETTLED or DEBT.
_AT_COST = [
    CopyTrade.Status.CONFIRMED,
    CopyTrade.Status.SETTLEMENT_PENDING,
    CopyTrade.Status.SETTLED,
    CopyTrade.Status.DEBT,
]
_FILLED = [CopyTrade.Status.FILLED, *_AT_COST]
_TOTAL = DecimalField(max_digits=24, decimal_places=6)


@dataclass
class Exposure:
    """Committed pUSD, updated in memory as a batch signs more orders."""

    follow_today: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    account_today: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    follow_market: dict[tuple[int, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    account_market: dict[tuple[int, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, *, follow_id: int, account_id: int, token_id: str, usdc: Decimal) -> None:
        self.follow_today[follow_id] += usdc
        self.account_today[account_id] += usdc
        self.follow_market[(follow_id, token_id)] += usdc
        self.account_market[(account_id, token_id)] += usdc


def exposure_for(*, account_ids: list[int], token_ids: list[str], now: datetime) -> Exposure:
    """Today's spend per follow/account, and per-market exposure for the given tokens.

    Market exposure = confirmed positions at cost + orders signed but not yet confirmed.
    Runs inside the caller's transaction, after the accounts were locked.
    """
    exposure = Exposure()
    if not account_ids:
        return exposure
    day_start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    sql, params = _statement(account_ids, token_ids, day_start)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    to_decimal = _decimal_converter()
    for kind, follow_id, account_id, token_id, total in found:
        amount = to_decimal(total) or ZERO
        if kind == "day":
            exposure.follow_today[follow_id] += amount
            exposure.account_today[account_id] += amount
        else:
            exposure.follow_market[(follow_id, token_id)] += amount
            exposure.account_market[(account_id, token_id)] += amount
    return exposure


def _statement(account_ids: list[int], token_ids: list[str], day_start: datetime) -> tuple[str, list[Any]]:
    """The three sums in one statement. Plain SQL: building them with the ORM cost ~3 ms of CPU
    per batch (docs/performance.md). The expressions are the ORM's ``Sum(Case(...))`` ones,
    SQLite's casts to NUMERIC included; identifiers come from the models, values are parameters."""
    quote = connection.ops.quote_name
    trades, positions = quote(CopyTrade._meta.db_table), quote(Position._meta.db_table)
    numeric = _numeric_cast()
    at_cost = numeric("fill_usdc + fee_usdc")
    filled = numeric("fill_usdc + planned_fee_usdc")
    zero = numeric("%s")
    planned = numeric(f"{numeric(f'COALESCE(planned_usdc, {zero})')} + planned_fee_usdc")
    case = f"CASE WHEN status IN ({_slots(_AT_COST)}) THEN {at_cost} WHEN status = %s THEN {filled} ELSE {planned} END"
    committed = numeric(f"SUM({numeric(case)})")
    committed_params: list[Any] = [*_AT_COST, CopyTrade.Status.FILLED, ZERO]
    accounts = _slots(account_ids)
    tokens = _slots(token_ids)
    today = [*_OPEN, *_FILLED]
    # Not in a position yet: a fleet fill is credited only once settled.
    unsettled = [*_OPEN, CopyTrade.Status.FILLED, CopyTrade.Status.SETTLEMENT_PENDING]
    sql = (
        f"SELECT 'day', relationship_id, account_id, NULL, {committed} FROM {trades} "  # noqa: S608
        f"WHERE account_id IN ({accounts}) AND created_at >= %s AND side = %s AND status IN ({_slots(today)}) "
        "GROUP BY relationship_id, account_id "
        f"UNION ALL SELECT 'market', relationship_id, account_id, token_id, {committed} FROM {trades} "
        f"WHERE account_id IN ({accounts}) AND token_id IN ({tokens}) AND side = %s "
        f"AND status IN ({_slots(unsettled)}) GROUP BY relationship_id, account_id, token_id "
        f"UNION ALL SELECT 'held', relationship_id, account_id, token_id, {numeric('SUM(cost_usdc)')} FROM {positions} "
        f"WHERE account_id IN ({accounts}) AND token_id IN ({tokens}) GROUP BY relationship_id, account_id, token_id"
    )
    created_at = CopyTrade._meta.get_field("created_at").get_db_prep_value(day_start, connection)
    params: list[Any] = [
        *committed_params,
        *account_ids,
        created_at,
        CopyTrade.Side.BUY,
        *today,
        *committed_params,
        *account_ids,
        *token_ids,
        CopyTrade.Side.BUY,
        *unsettled,
        *account_ids,
        *token_ids,
    ]
    return sql, params


def _slots(values: list[Any]) -> str:
    # An empty IN list matches nothing, as the ORM's empty ``__in`` does.
    return ", ".join(["%s"] * len(values)) if values else "NULL"


def _numeric_cast() -> Callable[[str], str]:
    """SQLite stores decimals as REAL/INTEGER; the ORM casts every decimal expression to NUMERIC
    there (SQLiteNumericMixin), and so do we, for the same sums. PostgreSQL computes in numeric."""
    if connection.vendor == "sqlite":
        return lambda sql: f"CAST({sql} AS NUMERIC)"
    return lambda sql: sql


def _decimal_converter() -> Callable[[Any], Decimal | None]:
    """How the ORM turns a decimal aggregate into a Decimal on this database (on SQLite: 15
    significant digits of the float, then Decimal), applied to our sums."""
    expression = Value(ZERO, output_field=_TOTAL)  # an expression, not a column, like Sum(...)
    converters = [*connection.ops.get_db_converters(expression), *expression.get_db_converters(connection)]

    def convert(value: Any) -> Decimal | None:
        for converter in converters:
            value = converter(value, expression, connection)
        return cast(Decimal | None, value)

    return convert
