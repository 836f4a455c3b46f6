"""Staff "show venue order": what the venue says about one copy trade's order, as public fields only.

The venue's own answer also names the order's owner (the follower's API key): only the fields
listed here are ever shown, never the raw answer. Asking opens the follower's API credentials,
so only staff allowed to operate copy trades may (the admin checks), and every question asked
of the venue is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copytrading.models import CopyTrade
from copytrading.pipeline.fleet import operator_of
from execution.venue.errors import VenueError
from execution.venue.services import order_lookup
from polyhunter.audit import Actor, audit_record


@dataclass(frozen=True)
class VenueOrderView:
    kind: str  # paper, unsigned, found, not_found, unknown, error
    message: str
    fields: list[tuple[str, str]] = field(default_factory=list)


def venue_order_view(*, trade: CopyTrade, actor: Actor) -> VenueOrderView:
    view = _view(trade)
    audit_record(actor=actor, action="copytrade.show_venue_order", target=trade, after={"answer": view.kind})
    return view


def _view(trade: CopyTrade) -> VenueOrderView:
    if trade.account.is_paper:
        return VenueOrderView("paper", "A paper copy: it was filled against the book, no order was sent.")
    if not trade.order_hash:
        return VenueOrderView("unsigned", "Nothing was signed for this copy, so the venue knows no order.")
    return _ask_venue(trade)


def _ask_venue(trade: CopyTrade) -> VenueOrderView:
    assert trade.order_hash is not None
    try:
        lookup = order_lookup(account=trade.account, order_hash=trade.order_hash, operator=operator_of(trade))
    except VenueError as exc:
        return VenueOrderView("error", f"The venue could not be asked ({exc.reason}).")
    if lookup.kind != "found" or lookup.order is None:
        status = f", HTTP {lookup.http_status}" if lookup.http_status else ""
        return VenueOrderView(lookup.kind, f"Venue answer: {lookup.kind} ({lookup.reason}{status}).")
    order = lookup.order
    return VenueOrderView(
        "found",
        "The venue knows this order.",
        [
            ("Order id (hash)", order.order_id),
            ("Venue status", order.status),
            ("Side", order.side),
            ("Price", str(order.price) if order.price is not None else ""),
            ("Original size", str(order.original_size) if order.original_size is not None else ""),
            ("Size matched", str(order.size_matched)),
            ("Order type", order.order_type),
            ("Maker", order.maker_address),
            ("Token", order.asset_id),
            ("Trades", ", ".join(order.associate_trades)),
        ],
    )
