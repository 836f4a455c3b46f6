"""A local Polymarket-compatible venue (CLOB V2 + Data API subset) for tests, demos and benchmarks.

It checks what Polymarket checks — EIP-712 order signatures per signature type and exchange
domain, L1/L2 auth with a timestamp window, the API key's ownership of the order, tick and amount
rules, minimum sizes, balances — with its own code (nothing from `execution` outside this package,
nothing from `copytrading`, not the SDK), and answers with Polymarket's error strings.

Stable API (docs/simulator.md has the details and the HTTP control surface):

    from execution.simulator import VenueSimulator, Scenario, scenario_from_activity_tape

    sim = VenueSimulator(scenario, port=0).start()    # scenario: Scenario | dict | path | None
    sim.url                                            # "http://127.0.0.1:<port>"; CLOB, Data API and
                                                       # relayer /deployed all answer on it
    sim.stop()                                         # or: with VenueSimulator(...) as sim: ...

Thread-safe control (all on the simulator object; decimals in units, not base units):

    sim.add_market({...} | Market)      sim.set_market(condition_id, accepting_orders=False, ...)
    sim.set_book(token_id, bids=[(price, size)], asks=[...], replenish=True)
    sim.set_balance(address, pusd="100", shares={token_id: "10"})     sim.balances(address)
    sim.set_allowance(address, approved=False)
    sim.credentials(signer_address, nonce=0) -> ApiCredentials(key, secret, passphrase, ...)
    sim.inject_leader_trade(wallet, token_id, "BUY", size, price, timestamp=None, transaction_hash=None)
    sim.add_fault(kind, "POST /order", count=1, probability=1.0, delay_ms=0, status=None)
    sim.clear_faults()   sim.set_trading_mode("cancel_only")   sim.set_version(2)
    sim.set_settlement(mined_after_ms, confirmed_after_ms)     # None: only by advance_trades
    sim.advance_trades(trade_ids=None, to="CONFIRMED")   sim.fail_trades(trade_ids=None)
    sim.orders(maker=..., status=...)   sim.order(order_hash)   sim.trades(wallet=..., status=...)
    sim.reset(scenario=None)   sim.load_scenario(scenario)   sim.state()

`Venue` is the same thing without HTTP (for engine-level tests).
"""

from __future__ import annotations

from .models import ApiCredentials, Fault, Market, Outcome
from .scenario import Scenario, scenario_from_activity_tape
from .server import VenueSimulator, serve
from .venue import HOUSE_WALLET, Venue

__all__ = [
    "HOUSE_WALLET",
    "ApiCredentials",
    "Fault",
    "Market",
    "Outcome",
    "Scenario",
    "Venue",
    "VenueSimulator",
    "scenario_from_activity_tape",
    "serve",
]
