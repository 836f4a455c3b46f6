"""The custody modes an account can be in, as the pages and the pipeline see them.

Each mode names itself in plain words, points at the page fragment that sets it up, and says
how its orders are signed (``sign``: None for a mode that places no venue order, or whose
signing is not built yet — the pipeline then blocks its copies with "custody not ready").
Adding a mode (fleet, issue #12): its services in their own module, one ``CustodyMode`` here,
one template under ``templates/copytrading/custody/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from accounts.models import TradingAccount
from execution.fleet.custody import fleet_sign
from execution.session_custody import session_sign
from execution.venue.errors import SigningFailed
from execution.venue.orders import MarketInfo, OrderRequest
from execution.venue.payload import SignedOrderPayload
from execution.venue.signing import order_sign

Signer = Callable[..., SignedOrderPayload]


@dataclass(frozen=True)
class CustodyMode:
    mode: str
    title: str
    summary: str  # what the follower hands over and what PolyHunter can do with it
    template: str
    sign: Signer | None = None


MODES: tuple[CustodyMode, ...] = (
    CustodyMode(
        mode=TradingAccount.Mode.PAPER,
        title="Paper",
        summary="Simulated fills against the venue's books; no key is stored.",
        template="copytrading/custody/paper.html",
    ),
    CustodyMode(
        mode=TradingAccount.Mode.SESSION,
        title="Session signer (your deposit wallet)",
        summary=(
            "You keep your key. Your Polymarket deposit wallet authorises a signer PolyHunter holds "
            "to place CLOB orders for it, until an expiry you choose; you can revoke it at any time."
        ),
        template="copytrading/custody/session.html",
        sign=session_sign,
    ),
    CustodyMode(
        mode=TradingAccount.Mode.SPEED,
        title="Speed (your own key)",
        summary="Your key signs your own orders. It is encrypted at rest and never shown again.",
        template="copytrading/custody/speed.html",
        sign=order_sign,
    ),
    CustodyMode(
        mode=TradingAccount.Mode.FLEET,
        title="Fleet (PolyHunter's wallets, settled to yours)",
        summary=(
            "You keep your key. A PolyHunter trading wallet places each copy with PolyHunter's money, "
            "then sends the shares to your wallet and takes back exactly what they cost (price plus fee) "
            "under an allowance you grant to PolyHunter's settlement contract. When a leader sells, it "
            "takes the shares that copy sells from your wallet, sells them and sends you the proceeds."
        ),
        template="copytrading/custody/fleet.html",
        sign=fleet_sign,
    ),
)
_BY_MODE = {mode.mode: mode for mode in MODES}


def custody_mode(account: TradingAccount) -> CustodyMode | None:
    return _BY_MODE.get(account.mode)


def custody_signs_orders(account: TradingAccount) -> bool:
    """Does this account place real venue orders with its own signer (one rate slot each)?"""
    mode = custody_mode(account)
    return mode is not None and mode.sign is not None


def custody_sign(
    *, account: TradingAccount, request: OrderRequest, market: MarketInfo, holder: str = ""
) -> SignedOrderPayload:
    """Sign one order the way the account's custody mode signs; SigningFailed when it cannot.

    ``holder``: for fleet mode, the copy holding the operator wallet that signs (checkout)."""
    mode = custody_mode(account)
    if mode is None or mode.sign is None:
        raise SigningFailed(f"{account.get_mode_display()} custody cannot place orders yet", reason="custody_not_ready")
    if account.mode == TradingAccount.Mode.FLEET:
        return mode.sign(account=account, request=request, market=market, holder=holder)
    return mode.sign(account=account, request=request, market=market)
