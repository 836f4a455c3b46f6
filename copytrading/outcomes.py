"""What happened to a copy, in plain words for its follower; the raw detail is for staff only.

A follower reads what the status means for their money ("the venue did not answer; we are
checking whether the order went through — nothing more will be sent for it"), never a venue
error body or a transport error. The details our own checks write (slippage, caps, ages) are
plain and are shown; details that quote the venue or the network are not.
"""

from __future__ import annotations

from typing import Protocol

from copytrading.models import CopyTrade
from copytrading.reasons import Reason, describe


class Outcome(Protocol):
    """What the words are made of: a CopyTrade, or a history row (live or archived)."""

    @property
    def status(self) -> str: ...
    @property
    def reason_code(self) -> str: ...
    @property
    def reason_detail(self) -> str: ...
    @property
    def venue_status(self) -> str: ...


S = CopyTrade.Status

# Details written by our own checks, in plain words: safe (and useful) to show a follower.
PLAIN_DETAIL = frozenset(
    {
        Reason.SHARES_NOT_PULLED,
        Reason.STALE,
        Reason.SLIPPAGE,
        Reason.DAILY_CAP,
        Reason.MARKET_POSITION_CAP,
        Reason.MAX_ORDER_NOTIONAL,
        Reason.NOT_FOUND,
        Reason.EXPIRED_PENDING,
        Reason.NO_OPERATOR_WALLET,
    }
)

STATUS_WORDS = {
    S.PENDING: "waiting to be placed",
    S.CLAIMED: "being placed",
    S.SIGNED: "sent to the venue, waiting for its answer",
    S.UNKNOWN: "the venue did not answer; we are checking whether the order went through"
    " — nothing more will be sent for it",
    S.DELAYED: "the venue holds the order for a moment before matching it",
    S.LIVE: "resting on the book until it fills or is cancelled",
    S.FILLED: "filled, settling on chain",
    S.CONFIRMED: "filled",
    S.FAILED: "matched, but the trade failed to settle on chain, so it did not happen",
    S.REJECTED: "the venue refused the order",
    S.CANCELED: "cancelled",
    S.EXPIRED: "expired before it could be placed",
    S.SKIPPED: "skipped",
    S.BLOCKED: "blocked by a guardrail",
    S.SETTLEMENT_PENDING: "filled by PolyHunter's wallet; the shares are on their way to yours",
    S.SETTLED: "filled; the shares are in your wallet and PolyHunter was paid back",
    S.DEBT: "filled; the shares are in your wallet, but paying PolyHunter back failed (see what you owe)",
}

# A fleet SELL settles the other way: the proceeds (and any share not sold) go to the follower.
SELL_SETTLEMENT_WORDS = {
    S.SETTLEMENT_PENDING: "sold by PolyHunter's wallet; the proceeds are on their way to yours",
    S.SETTLED: "sold; the proceeds (after the fee) are in your wallet",
}

# The venue's refusals (execution.venue.classify reasons, kept in venue_status), in plain words.
REFUSALS = {
    "not_enough_balance": "your wallet does not have enough pUSD, or the exchange is not approved to spend it",
    "unauthorized": "the venue refused your API key; set your custody again to resume",
    "below_min_size": "the order was under the market's minimum size",
    "market_not_ready": "the market is not accepting orders",
    "maker_not_allowed": "the venue wants this wallet to trade through its deposit wallet",
    "order_version_mismatch": "the venue changed its order format; trading is halted until we update",
}


def status_words(trade: Outcome) -> str:
    """The status as a follower reads it; a paper fill is 'filled (paper)', never 'on chain'."""
    if trade.status == S.CONFIRMED:
        return "filled (paper)" if trade.venue_status == "paper" else "filled and settled on chain"
    if getattr(trade, "side", "") == "SELL" and trade.status in SELL_SETTLEMENT_WORDS:
        return SELL_SETTLEMENT_WORDS[S(trade.status)]
    return STATUS_WORDS.get(S(trade.status), S(trade.status).label.lower())


def follower_words(trade: Outcome) -> str:
    """One plain sentence about this copy for its follower."""
    status, code = S(trade.status), trade.reason_code
    if status == S.REJECTED:
        if code == Reason.KILLED:
            return f"not filled: {Reason.KILLED.label}"
        return f"{STATUS_WORDS[S.REJECTED]}: {REFUSALS.get(trade.venue_status, 'staff can see its exact answer')}"
    if status in (S.SIGNED, S.CLAIMED) and code.startswith("retry_later"):
        return "the venue asked us to wait; the same order will be sent again (never a second one)"
    if status in (S.SIGNED, S.UNKNOWN, S.DELAYED, S.LIVE, S.FILLED, S.PENDING, S.CLAIMED, S.DEBT) or not code:
        return status_words(trade)
    words = Reason(code).label if code in Reason.values else "see your follow's settings"
    detail = trade.reason_detail if code in PLAIN_DETAIL and trade.reason_detail else ""
    text = f"{status_words(trade)}: {words}"
    return f"{text} ({detail})" if detail else text


def staff_words(trade: CopyTrade) -> str:
    """Status, reason code and the raw detail (venue answers included), for the staff console."""
    return describe(trade.get_status_display(), trade.reason_code, trade.reason_detail) if trade.reason_code else ""
