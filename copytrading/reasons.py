"""Reason codes stored on CopyTrade rows, and how each reads to a follower in plain words."""

from __future__ import annotations

from django.db import models


class Reason(models.TextChoices):
    # Decided at fan-out, without the market.
    FOLLOW_PAUSED = "follow_paused", "this follow is paused"
    FOLLOW_HELD = "follow_held", "staff paused this follow"
    LEADER_PAUSED = "leader_paused", "staff paused copying of this leader"
    ACCOUNT_PAUSED = "account_paused", "your trading account is paused"
    STALE = "stale", "the leader's trade was too old to copy"
    MARKET_NOT_ALLOWED = "market_not_allowed", "the market is not in your allow list"
    MARKET_DENIED = "market_denied", "the market is in your deny list"
    PRICE_OUTSIDE_BAND = "price_outside_band", "the leader's price was outside your price band"
    COPY_SELLS_OFF = "copy_sells_off", "you do not copy sells"
    NOTHING_TO_SELL = "nothing_to_sell", "you hold nothing bought for this leader in that market"
    LEADER_RETRACTED = "leader_retracted", "the leader's trade was undone by a chain reorganisation"
    # Decided at execution (guardrails, in gate order).
    KILL_SWITCH = "kill_switch", "the platform kill switch is on"
    GLOBAL_PAUSE = "global_pause", "staff paused all copies"
    EXITS_ONLY = "exits_only", "the platform only runs exits right now"
    MAX_ORDER_NOTIONAL = "max_order_notional", "the order was above the per-order limit"
    MARKET_POSITION_CAP = "market_position_cap", "your per-market cap was reached"
    DAILY_CAP = "daily_cap", "your daily cap was reached"
    BREAKER_OPEN = "breaker_open", "the venue was answering unreliably (circuit breaker open)"
    RATE_LIMITED = "rate_limited", "the signer's order rate limit was reached"
    CUSTODY_NOT_READY = "custody_not_ready", "your custody setup is incomplete"
    VENUE_VERSION = "venue_version", "the venue's order version changed; trading is halted until updated"
    DEBT_OUTSTANDING = (
        "debt_outstanding",
        "you owe PolyHunter for earlier copies; raise your pUSD allowance or balance so it can be collected, "
        "and copying resumes",
    )
    NO_OPERATOR_WALLET = "no_operator_wallet", "no PolyHunter trading wallet was free to place it"
    # Kept for rows written before fleet sells were built.
    FLEET_SELLS = "fleet_sells", "fleet mode does not copy sells yet; sell from your own wallet"
    SHARES_NOT_APPROVED = (
        "shares_not_approved",
        "your wallet has not let PolyHunter's settlement contract move its shares (see the custody page)",
    )
    SHARES_NOT_PULLED = "shares_not_pulled", "the shares to sell could not be taken from your wallet"
    # Decided from the market.
    MARKET_CLOSED = "market_closed", "the market is not accepting orders"
    NO_LIQUIDITY = "no_liquidity", "there was no liquidity within your price limit"
    SLIPPAGE = "slippage", "the price moved past your slippage limit"
    BELOW_MIN_SIZE = "below_min_size", "the copy was below the market's minimum order size"
    # Decided by the venue or the reconciler.
    VENUE_REJECTED = "venue_rejected", "the venue rejected the order"
    KILLED = "killed", "nothing matched within your price limit (fill-and-kill)"
    NOT_FOUND = "not_found", "the venue never received the order"
    EXPIRED_PENDING = "expired_pending", "it could not be processed in time"
    SETTLEMENT_FAILED = "settlement_failed", "the trade failed to settle on chain"
    MARKET_RESOLVED = "market_resolved", "the market resolved before the order filled"
    # Fleet settlement (the operator wallet's fill moved to the follower's wallet).
    REIMBURSEMENT_OWED = "reimbursement_owed", "the shares are in your wallet, but paying PolyHunter back failed"


def describe(status_label: str, code: str, detail: str = "") -> str:
    """'skipped: the price moved past your slippage limit (4.1 % vs 3 %)'."""
    words = Reason(code).label if code in Reason.values else code.replace("_", " ")
    text = f"{status_label.lower()}: {words}"
    return f"{text} ({detail})" if detail else text
