"""A follower's copy history, live and archived: filtering, pages, and the same rows as CSV.

Copy trades past retention live in ``ArchivedCopyTrade`` (copytrading.archive); the history reads
both tables in one ordered query (a UNION of the same columns), so a page, its count and the CSV
show every copy whichever table holds it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, overload

from django.db.models import BooleanField, CharField, F, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from accounts.models import User
from copytrading.markets import MarketName, market_names
from copytrading.models import ArchivedCopyTrade, CopyRelationship, CopyTrade
from copytrading.outcomes import follower_words
from polyhunter.lib.money import exact_units

# Amounts in the venue's exact unit (6 decimals of pUSD or shares), prices as recorded: an export
# is for adding up, so nothing in it is rounded for reading.
CSV_COLUMNS = [
    "created_at",
    "code",
    "leader",
    "market",
    "outcome",
    "token_id",
    "side",
    "status",
    "explanation",
    "leader_price",
    "limit_price",
    "fill_price",
    "price_difference_percent",
    "shares_filled",
    "usdc_filled",
    "fee_usdc",
    "cash_usdc",
    "planned_usdc",
]


@dataclass(frozen=True)
class HistoryFilter:
    follow: CopyRelationship | None = None
    status: str = ""
    side: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class HistoryRow:
    """One copy as the history shows it, from the live table or the archive."""

    id: int
    code: str
    created_at: datetime
    leader_label: str
    leader_address: str
    token_id: str
    side: str
    status: str
    reason_code: str
    reason_detail: str
    venue_status: str
    trigger: str
    reference_price: Decimal | None
    planned_price: Decimal | None
    fill_price: Decimal | None
    size_matched: Decimal
    fill_usdc: Decimal
    fee_usdc: Decimal
    planned_usdc: Decimal | None
    archived: bool

    @property
    def leader(self) -> str:
        return self.leader_label or self.leader_address

    @property
    def status_display(self) -> str:
        return str(CopyTrade.Status(self.status).label)

    @property
    def trigger_display(self) -> str:
        return str(CopyTrade.Trigger(self.trigger).label)

    @property
    def words(self) -> str:
        """Plain words for the follower (the raw detail is for staff)."""
        return follower_words(self)

    @property
    def cash(self) -> Decimal | None:
        """pUSD out (a BUY: fill plus fee, negative) or in (a SELL: fill minus fee); None unfilled."""
        if not self.size_matched:
            return None
        fill, fee = Decimal(self.fill_usdc), Decimal(self.fee_usdc)
        return -(fill + fee) if self.side == CopyTrade.Side.BUY else fill - fee


_FIELDS = [name for name in HistoryRow.__dataclass_fields__ if name != "archived"]


def _columns(*, archived: bool) -> dict[str, Any]:
    """The same columns, in the same order, from either table (prefixed: no clash with fields)."""
    reference = F("reference_price") if archived else Coalesce(F("leader_trade__price"), F("signal_price"))
    sources: dict[str, Any] = {
        "id": F("original_id") if archived else F("id"),
        "leader_label": F("relationship__leader__label"),
        "leader_address": F("relationship__leader__address"),
        "reference_price": reference,
        # The archive keeps venue_status in the original row only ("paper" fills read as such).
        "venue_status": Coalesce(Cast(KeyTextTransform("venue_status", "row"), CharField()), Value(""))
        if archived
        else F("venue_status"),
    }
    columns = {f"h_{name}": sources.get(name, F(name)) for name in _FIELDS}
    columns["h_archived"] = Value(archived, output_field=BooleanField())
    return columns


class HistoryRows:
    """The user's copies in both tables, newest first: ``count()`` and slices, as a Paginator wants."""

    def __init__(self, live: QuerySet[CopyTrade], archived: QuerySet[ArchivedCopyTrade]) -> None:
        # Typed loosely: the columns are annotations built at run time, which the stubs cannot see.
        # Each side unordered (SQLite refuses ORDER BY inside a compound SELECT); the union is ordered.
        combined: Any = (
            live.order_by()
            .values(**_columns(archived=False))
            .union(archived.order_by().values(**_columns(archived=True)), all=True)
        )
        self._query: Any = combined.order_by("-h_created_at", "-h_id")

    def count(self) -> int:
        return int(self._query.count())

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> HistoryRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[HistoryRow]: ...
    def __getitem__(self, index: int | slice) -> HistoryRow | list[HistoryRow]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        return [_row(values) for values in self._query[index]]

    def __iter__(self) -> Iterator[HistoryRow]:
        start, chunk = 0, 500
        while True:
            rows = self[start : start + chunk]
            yield from rows
            if len(rows) < chunk:
                return
            start += chunk


def _row(values: dict[str, Any]) -> HistoryRow:
    fields = {name: values[f"h_{name}"] for name in HistoryRow.__dataclass_fields__}
    fields["code"] = str(fields["code"])
    fields["archived"] = bool(fields["archived"])
    return HistoryRow(**fields)


def history_rows(*, user: User, filters: HistoryFilter) -> HistoryRows:
    """The user's copy trades, live and archived, newest first; ``filters.follow`` must be theirs."""
    live = CopyTrade.objects.filter(account__user=user)
    archived = ArchivedCopyTrade.objects.filter(account__user=user)
    conditions: dict[str, Any] = {}
    if filters.follow is not None:
        conditions["relationship"] = filters.follow
    if filters.status:
        conditions["status"] = filters.status
    if filters.side:
        conditions["side"] = filters.side
    if filters.since:
        conditions["created_at__date__gte"] = filters.since
    if filters.until:
        conditions["created_at__date__lte"] = filters.until
    return HistoryRows(live.filter(**conditions), archived.filter(**conditions))


def price_difference_percent(trade: CopyTrade | HistoryRow) -> Decimal | None:
    """How much worse (positive) or better than the leader (or the triggering mark of a stop-loss /
    take-profit) the copy filled, in percent of that reference price."""
    leader = trade.reference_price
    if trade.fill_price is None or leader is None or not leader:
        return None
    fill = Decimal(trade.fill_price)
    worse = fill - leader if trade.side == CopyTrade.Side.BUY else leader - fill
    return (worse / leader * 100).quantize(Decimal("0.01"))


class _Echo:
    def write(self, value: str) -> str:
        return value


def history_csv(rows: HistoryRows) -> Iterator[str]:
    """CSV lines of the rows, streamed (a long history is never held in memory at once)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    chunk: list[HistoryRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == 500:
            yield from _lines(writer, chunk)
            chunk = []
    yield from _lines(writer, chunk)


def _lines(writer: Any, rows: list[HistoryRow]) -> Iterator[str]:
    names = market_names({row.token_id for row in rows})  # one read per chunk
    for row in rows:
        market = names[row.token_id]
        yield writer.writerow(
            [
                row.created_at.isoformat(),
                row.code,
                row.leader_address,
                market.title,
                market.outcome,
                row.token_id,
                row.side,
                row.status,
                row.words,
                _price(row.reference_price),
                _price(row.planned_price),
                _price(row.fill_price),
                _blank(price_difference_percent(row)),
                exact_units(row.size_matched),
                exact_units(row.fill_usdc),
                exact_units(row.fee_usdc),
                exact_units(row.cash) if row.cash is not None else "",
                exact_units(row.planned_usdc),
            ]
        )


def _price(value: Decimal | None) -> str:
    return "" if value is None else f"{Decimal(value).normalize():f}"


def _blank(value: Decimal | None) -> str | Decimal:
    return "" if value is None else value


@dataclass(frozen=True)
class HistoryView:
    """A history row as the page shows it: its market by name, to its tick."""

    row: HistoryRow
    market: MarketName

    @property
    def tick(self) -> Decimal | None:
        return self.market.tick

    @property
    def worse_by_percent(self) -> Decimal | None:
        return price_difference_percent(self.row)


def history_views(rows: list[HistoryRow]) -> list[HistoryView]:
    names = market_names({row.token_id for row in rows})
    return [HistoryView(row, names[row.token_id]) for row in rows]
