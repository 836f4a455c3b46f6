"""What a fleet follower must grant on chain, read back from the chain for their custody page
and for the gate: copying starts only once the pUSD allowance to our settlement contract is there."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from decimal import Decimal

from eth_utils.address import to_checksum_address

from accounts.models import TradingAccount
from execution.fleet.chain import fleet_chain
from execution.fleet.debts import debts_open_total
from execution.fleet.models import DebtRecord
from execution.fleet.onchain import follower_approvals
from execution.models import GuardrailSettings

# How long a chain reading of a follower's allowance serves the order gate (one read a minute).
APPROVAL_TTL_S = 60.0
_SEEN: dict[str, tuple[float, bool]] = {}


@dataclass(frozen=True)
class FleetSetup:
    """The approvals to grant (contract addresses, amount) and what the chain shows now."""

    settlement: str
    pusd: str
    ctf: str
    suggested_allowance: Decimal
    allowance: Decimal | None = None  # None: the chain could not be read
    balance: Decimal | None = None
    shares_approved: bool | None = None
    owed: Decimal = Decimal(0)
    debts: list[DebtRecord] = field(default_factory=list)

    @property
    def allowance_in_place(self) -> bool:
        return self.allowance is not None and self.allowance > 0


def fleet_setup(account: TradingAccount) -> FleetSetup | None:
    """The follower's set-up as the chain shows it; None when fleet mode is not configured."""
    try:
        chain = fleet_chain()
    except Exception:
        return None
    setup = FleetSetup(
        settlement=chain.settlement,
        pusd=chain.pusd,
        ctf=chain.ctf,
        suggested_allowance=GuardrailSettings.current().max_daily_usdc_per_account,
        owed=debts_open_total(account_id=account.id),
        debts=list(DebtRecord.objects.filter(account=account, state=DebtRecord.State.OPEN).order_by("created_at")),
    )
    if not account.funder_address:
        return setup
    try:
        seen = follower_approvals(
            w3=chain.w3,
            pusd=chain.pusd,
            ctf=chain.ctf,
            settlement=chain.settlement,
            follower=to_checksum_address(account.funder_address),
        )
    except Exception:  # the node unreachable: shown as "could not read", never as granted
        return setup
    _SEEN[account.funder_address] = (time.monotonic(), seen.pusd_allowance > 0)
    return replace(
        setup, allowance=seen.pusd_allowance, balance=seen.pusd_balance, shares_approved=seen.shares_approved
    )


def fleet_allowance_granted(account: TradingAccount) -> bool:
    """Has the follower granted the settlement contract an allowance? Read at most once a minute."""
    known = _SEEN.get(account.funder_address)
    if known is not None and time.monotonic() - known[0] < APPROVAL_TTL_S:
        return known[1]
    setup = fleet_setup(account)
    return setup is not None and setup.allowance_in_place
