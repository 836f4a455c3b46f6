"""Load leased CopyTrade rows with their follow, account, leader trade and leader: one plain SELECT.

The same rows, related objects and values as
``CopyTrade.objects.filter(...).select_related("relationship", "account", "leader_trade__leader")``
(``polyhunter.lib.rows`` builds the instances the way the ORM does), without compiling that
query for every batch: on the hot path it cost ~5 ms of CPU per message, ~11 % of a worker's
CPU (docs/performance.md). Rows are found by primary key (with the owner token), never by
``lease_owner`` alone, which has no index.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections

from accounts.models import TradingAccount
from copytrading.models import CopyRelationship, CopyTrade, LeaderTrade, WatchedWallet
from polyhunter.lib.rows import columns

_RELATIONSHIP = CopyTrade._meta.get_field("relationship")
_ACCOUNT = CopyTrade._meta.get_field("account")
_LEADER_TRADE = CopyTrade._meta.get_field("leader_trade")
_LEADER = LeaderTrade._meta.get_field("leader")


def load_held(*, ids: Sequence[int], owner: str, status: str | None = None) -> list[CopyTrade]:
    """The rows among ``ids`` leased to ``owner`` (and in ``status`` if given), in id order."""
    if not ids:
        return []
    wrapper = connections[DEFAULT_DB_ALIAS]
    quote = wrapper.ops.quote_name
    trade = columns(CopyTrade, "ct")
    follow = columns(CopyRelationship, "r")
    account = columns(TradingAccount, "a")
    leader_trade = columns(LeaderTrade, "lt")
    leader = columns(WatchedWallet, "l")
    slots = ", ".join(["%s"] * len(ids))
    params: list[int | str] = [*ids, owner]
    where = f"ct.id IN ({slots}) AND ct.lease_owner = %s"
    if status is not None:
        where += " AND ct.status = %s"
        params.append(status)
    # Identifiers come from the models' metadata; every value is a query parameter. The leader
    # trade is optional (protective exits have none), hence the outer joins, as select_related.
    sql = (
        f"SELECT {trade.sql}, {follow.sql}, {account.sql}, {leader_trade.sql}, {leader.sql} "  # noqa: S608
        f"FROM {quote(CopyTrade._meta.db_table)} ct "
        f"INNER JOIN {quote(CopyRelationship._meta.db_table)} r ON r.id = ct.{quote(_RELATIONSHIP.column)} "
        f"INNER JOIN {quote(TradingAccount._meta.db_table)} a ON a.id = ct.{quote(_ACCOUNT.column)} "
        f"LEFT OUTER JOIN {quote(LeaderTrade._meta.db_table)} lt ON lt.id = ct.{quote(_LEADER_TRADE.column)} "
        f"LEFT OUTER JOIN {quote(WatchedWallet._meta.db_table)} l ON l.id = lt.{quote(_LEADER.column)} "
        f"WHERE {where} ORDER BY ct.id"
    )
    with wrapper.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    rows = []
    ends = _ends([trade.width, follow.width, account.width, leader_trade.width, leader.width])
    for values in found:
        row = trade.build(values[: ends[0]], wrapper)
        _RELATIONSHIP.set_cached_value(row, follow.build(values[ends[0] : ends[1]], wrapper))
        _ACCOUNT.set_cached_value(row, account.build(values[ends[1] : ends[2]], wrapper))
        if values[ends[2] + leader_trade.pk_index] is None:  # no leader trade
            _LEADER_TRADE.set_cached_value(row, None)
        else:
            copied = leader_trade.build(values[ends[2] : ends[3]], wrapper)
            _LEADER.set_cached_value(copied, leader.build(values[ends[3] : ends[4]], wrapper))
            _LEADER_TRADE.set_cached_value(row, copied)
        rows.append(row)
    return rows


def _ends(widths: list[int]) -> list[int]:
    ends, total = [], 0
    for width in widths:
        total += width
        ends.append(total)
    return ends
