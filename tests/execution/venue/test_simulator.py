"""The gateway against the simulated venue (execution.simulator) over real HTTP on 127.0.0.1.

The simulator checks signatures, L1/L2 auth, amounts and balances with its own code, so these
tests are the end-to-end proof that what we sign and send is what the venue accepts, and that
every outcome (placed, rejected, unknown, retry later, never sent) is told apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from polymarket._internal.environment import EnvironmentConfig

from accounts.keyring import seal_secret
from accounts.models import TradingAccount
from execution.models import VenueHealth
from execution.simulator import VenueSimulator
from execution.venue.auth import ApiCredentials
from execution.venue.custody import custody_derive
from execution.venue.errors import VersionMismatch
from execution.venue.orders import OrderRequest
from execution.venue.payload import SignedOrderPayload
from execution.venue.polymarket import PolymarketGateway
from execution.venue.services import account_balance, account_trades, order_lookup, order_post, post_signed
from execution.venue.signing import order_sign, sign_order_with_key
from tests.execution.venue.conftest import ADDRESS_0, CONDITION, KEY_0, fixture, venue_settings
from tests.factories import TOKEN_NO, TOKEN_YES, make_account

WALLETS = {row["eoa"]: row for row in fixture("wallet_derivation_vectors.json")["computed"]}[ADDRESS_0]
NEG_CONDITION = "0x" + "5e" * 32
NEG_YES = "1" + "2" * 76
NEG_NO = "3" + "4" * 76
SCENARIO = {
    "markets": [
        {
            "condition_id": CONDITION,
            "tokens": [{"token_id": TOKEN_YES, "outcome": "Yes"}, {"token_id": TOKEN_NO, "outcome": "No"}],
            "tick_size": "0.01",
            "min_order_size": 5,
            "fee_rate": "0.04",
        },
        {
            "condition_id": NEG_CONDITION,
            "tokens": [{"token_id": NEG_YES, "outcome": "Yes"}, {"token_id": NEG_NO, "outcome": "No"}],
            "tick_size": "0.001",
            "min_order_size": 5,
            "neg_risk": True,
        },
    ],
    "books": [
        {"token_id": TOKEN_YES, "bids": [["0.50", "100"]], "asks": [["0.52", "100"], ["0.55", "100"]]},
        {"token_id": NEG_YES, "bids": [["0.300", "100"]], "asks": [["0.310", "100"]]},
    ],
    "balances": [
        {"address": wallet, "pusd": "1000", "shares": {TOKEN_YES: "50"}}
        for wallet in (
            ADDRESS_0,
            WALLETS["poly_proxy"],
            WALLETS["gnosis_safe"],
            WALLETS["deposit_wallet_beacon"],
        )
    ],
    "settlement": {"manual": True},
}


@pytest.fixture(scope="module")
def simulator() -> Iterator[VenueSimulator]:
    with VenueSimulator(SCENARIO) as sim:
        yield sim


@pytest.fixture
def sim(simulator: VenueSimulator) -> VenueSimulator:
    simulator.reset(SCENARIO)
    return simulator


@pytest.fixture
def gateway(sim: VenueSimulator) -> PolymarketGateway:
    return PolymarketGateway(venue_settings(sim.url, read="1"), record_health=False)


@pytest.fixture
def creds(sim: VenueSimulator, gateway: PolymarketGateway) -> ApiCredentials:
    return custody_derive(private_key=KEY_0, venue=gateway.venue).credentials


def _sign(
    gateway: PolymarketGateway,
    creds: ApiCredentials,
    request: OrderRequest,
    config: EnvironmentConfig,
    *,
    funder: str = ADDRESS_0,
    signature_type: int | None = None,
) -> SignedOrderPayload:
    return sign_order_with_key(
        private_key=KEY_0,
        api_key=creds.key,
        funder=funder,
        request=request,
        market=gateway.market_info(request.token_id),
        config=config,
        declared_signature_type=signature_type,
    )


def _buy(amount: str = "10", max_price: str = "0.53", order_type: str = "FAK") -> OrderRequest:
    return OrderRequest.market_buy(
        token_id=TOKEN_YES,
        amount=Decimal(amount),
        max_price=Decimal(max_price),
        order_type=order_type,  # type: ignore[arg-type]
    )


def test_custody_derives_the_credentials_the_venue_issued(sim: VenueSimulator, gateway: PolymarketGateway) -> None:
    first = custody_derive(private_key=KEY_0, venue=gateway.venue)
    again = custody_derive(private_key=KEY_0, venue=gateway.venue)  # create refused (400) -> derive
    issued = sim.credentials(ADDRESS_0)
    assert first.signer_address == ADDRESS_0
    assert first.credentials == again.credentials
    assert (first.credentials.key, first.credentials.secret, first.credentials.passphrase) == (
        issued.key,
        issued.secret,
        issued.passphrase,
    )


def test_market_info_book_time_and_version_come_from_the_venue(gateway: PolymarketGateway) -> None:
    info = gateway.market_info(TOKEN_YES)
    assert (info.condition_id, info.tick_size, info.min_order_size, info.neg_risk) == (
        CONDITION,
        Decimal("0.01"),
        Decimal(5),
        False,
    )
    assert info.accepting_orders is True
    assert info.token_ids == frozenset({TOKEN_YES, TOKEN_NO})
    assert info.fees.rate == Decimal("0.04")
    assert gateway.market_info(NEG_YES).neg_risk is True
    book = gateway.book(TOKEN_YES)
    assert (book.best_bid, book.best_ask) == (Decimal("0.50"), Decimal("0.52"))
    assert gateway.version() == 2
    assert gateway.server_time() > 1_700_000_000


def test_a_protected_buy_is_placed_found_by_hash_and_its_trade_followed_to_confirmed(
    sim: VenueSimulator, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    payload = _sign(gateway, creds, _buy(), config)
    verdict = post_signed(payload=payload.to_json(), creds=creds, gateway=gateway)
    assert (verdict.kind, verdict.status, verdict.order_id) == ("placed", "matched", payload.order_hash)
    assert verdict.making_amount is not None
    assert Decimal("9.99") <= verdict.making_amount <= Decimal(10)

    lookup = gateway.get_order(payload.order_hash, creds=creds, address=ADDRESS_0)
    assert lookup.kind == "found"
    assert lookup.order is not None
    assert lookup.order.status == "MATCHED"
    assert lookup.order.size_matched == verdict.taking_amount

    page = gateway.trades(creds=creds, address=ADDRESS_0, maker_address=ADDRESS_0)
    (trade,) = page.trades
    assert trade.trade_id in verdict.trade_ids
    assert trade.size_for_order(payload.order_hash) == verdict.taking_amount
    assert trade.status == "MATCHED"
    sim.advance_trades(to="CONFIRMED")
    (confirmed,) = gateway.trades(creds=creds, address=ADDRESS_0, trade_id=trade.trade_id).trades
    assert (confirmed.status, confirmed.is_final) == ("CONFIRMED", True)


def test_a_resting_limit_order_is_live_at_the_venue(
    gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    request = OrderRequest.limit(token_id=TOKEN_YES, side="BUY", price=Decimal("0.45"), size=Decimal(10))
    payload = _sign(gateway, creds, request, config)
    verdict = gateway.place(payload, creds=creds)
    assert (verdict.kind, verdict.status) == ("placed", "live")
    lookup = gateway.get_order(payload.order_hash, creds=creds, address=ADDRESS_0)
    assert lookup.order is not None
    assert (lookup.order.status, lookup.order.size_matched, lookup.order.is_open) == ("LIVE", Decimal(0), True)


@pytest.mark.parametrize("signature_type", [1, 2, 3])
def test_proxy_safe_and_deposit_wallet_orders_are_accepted(
    signature_type: int, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    funder = {1: WALLETS["poly_proxy"], 2: WALLETS["gnosis_safe"], 3: WALLETS["deposit_wallet_beacon"]}[signature_type]
    payload = _sign(gateway, creds, _buy(), config, funder=funder, signature_type=signature_type)
    verdict = gateway.place(payload, creds=creds)
    assert (verdict.kind, verdict.order_id) == ("placed", payload.order_hash), verdict


def test_a_neg_risk_market_is_signed_for_the_neg_risk_exchange_and_accepted(
    gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    request = OrderRequest.market_buy(token_id=NEG_YES, amount=Decimal(5), max_price=Decimal("0.315"))
    payload = _sign(gateway, creds, request, config)
    assert payload.exchange == "0xe2222d279d744050d28e00520010520000310F59"
    assert gateway.place(payload, creds=creds).kind == "placed"


def test_resending_the_same_bytes_is_a_duplicate_to_reconcile_not_a_second_order(
    sim: VenueSimulator, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    payload = _sign(gateway, creds, _buy(), config)
    assert gateway.place(payload, creds=creds).kind == "placed"
    again = post_signed(payload=payload.to_json(), creds=creds, gateway=gateway)
    assert (again.kind, again.reason) == ("unknown", "duplicate")
    assert len(sim.orders(maker=ADDRESS_0)) == 1


def test_kills_and_refusals_are_rejected_with_their_reason(
    sim: VenueSimulator, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    fok = gateway.place(_sign(gateway, creds, _buy("500", "0.55", "FOK"), config), creds=creds)
    assert (fok.kind, fok.reason) == ("rejected", "killed")
    fak = gateway.place(_sign(gateway, creds, _buy("10", "0.51"), config), creds=creds)
    assert (fak.kind, fak.reason) == ("rejected", "killed")
    sim.set_balance(ADDRESS_0, pusd="1")
    poor = gateway.place(_sign(gateway, creds, _buy("5"), config), creds=creds)
    assert (poor.kind, poor.reason) == ("rejected", "not_enough_balance")
    assert sim.orders(maker=ADDRESS_0, status="LIVE") == []


def test_an_answer_dropped_after_the_venue_committed_is_unknown_and_reconciled_by_hash(
    sim: VenueSimulator, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    payload = _sign(gateway, creds, _buy(), config)
    sim.add_fault("drop", "POST /order")
    verdict = gateway.place(payload, creds=creds)
    assert (verdict.kind, verdict.reason, verdict.http_status) == ("unknown", "transport_error", None)
    lookup = gateway.get_order(payload.order_hash, creds=creds, address=ADDRESS_0)
    assert lookup.kind == "found"
    assert lookup.order is not None
    assert lookup.order.status == "MATCHED"


def test_a_slow_answer_is_unknown(
    sim: VenueSimulator, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    payload = _sign(gateway, creds, _buy(), config)
    sim.add_fault("delay_after", "POST /order", delay_ms=1500)
    verdict = gateway.place(payload, creds=creds)
    assert (verdict.kind, verdict.reason) == ("unknown", "transport_error")
    assert "ReadTimeout" in verdict.detail


def test_a_5xx_before_the_order_is_unknown_then_not_found_then_the_same_bytes_are_placed(
    sim: VenueSimulator, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    payload = _sign(gateway, creds, _buy(), config)
    sim.add_fault("error_before", "POST /order")
    assert gateway.place(payload, creds=creds).kind == "unknown"
    assert gateway.get_order(payload.order_hash, creds=creds, address=ADDRESS_0).kind == "not_found"
    resent = post_signed(payload=payload.to_json(), creds=creds, gateway=gateway)
    assert (resent.kind, resent.order_id) == ("placed", payload.order_hash)


def test_a_5xx_after_the_order_is_unknown_and_the_order_exists(
    sim: VenueSimulator, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    payload = _sign(gateway, creds, _buy(), config)
    sim.add_fault("error_after", "POST /order")
    assert gateway.place(payload, creds=creds).kind == "unknown"
    assert gateway.get_order(payload.order_hash, creds=creds, address=ADDRESS_0).kind == "found"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("rate_limit", "rate_limited"),
        ("too_early", "engine_restarting"),
        ("cancel_only", "cancel_only"),
        ("trading_disabled", "trading_disabled"),
        ("post_only", "post_only_mode"),
    ],
)
def test_venue_modes_and_throttles_are_retry_later(
    fault: str,
    reason: str,
    sim: VenueSimulator,
    gateway: PolymarketGateway,
    creds: ApiCredentials,
    config: EnvironmentConfig,
) -> None:
    payload = _sign(gateway, creds, _buy(), config)
    sim.add_fault(fault, "POST /order")
    verdict = gateway.place(payload, creds=creds)
    assert (verdict.kind, verdict.reason) == ("retry_later", reason)
    assert gateway.get_order(payload.order_hash, creds=creds, address=ADDRESS_0).kind == "not_found"
    assert gateway.place(payload, creds=creds).kind == "placed"


def test_cancel_only_mode_is_retry_later(
    sim: VenueSimulator, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    sim.set_trading_mode("cancel_only")
    verdict = gateway.place(_sign(gateway, creds, _buy(), config), creds=creds)
    assert (verdict.kind, verdict.reason) == ("retry_later", "cancel_only")


@pytest.mark.django_db
def test_the_canary_refuses_to_trade_when_the_venue_version_changes(
    sim: VenueSimulator, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    gateway = PolymarketGateway(venue_settings(sim.url, read="1"))
    payload = _sign(gateway, creds, _buy(), config)
    sim.set_version(3)
    with pytest.raises(VersionMismatch):
        gateway.place(payload, creds=creds)
    assert sim.orders(maker=ADDRESS_0) == []
    assert VenueHealth.objects.get().seen_version == 3


def test_an_order_to_a_venue_that_went_away_is_never_sent(creds: ApiCredentials, config: EnvironmentConfig) -> None:
    with VenueSimulator(SCENARIO) as own:
        gateway = PolymarketGateway(venue_settings(own.url), record_health=False)
        own_creds = custody_derive(private_key=KEY_0, venue=gateway.venue).credentials
        payload = _sign(gateway, own_creds, _buy(), config)
        gateway.check_version()
        gateway.clock.offset()  # measured while the venue was there, trusted for minutes after
    verdict = gateway.place(payload, creds=own_creds)
    assert (verdict.kind, verdict.reason) == ("retry_later", "not_sent")


@pytest.mark.django_db
def test_the_account_services_sign_post_and_reconcile_for_a_speed_account(
    sim: VenueSimulator, gateway: PolymarketGateway, creds: ApiCredentials, config: EnvironmentConfig
) -> None:
    account = make_account(
        mode=TradingAccount.Mode.SPEED, signer_address=ADDRESS_0, funder_address=ADDRESS_0, signature_type=0
    )
    seal_secret(account=account, field="private_key_ciphertext", plaintext=KEY_0.encode())
    seal_secret(account=account, field="api_credentials_ciphertext", plaintext=creds.to_json_bytes())
    account.save()

    payload = order_sign(account=account, request=_buy(), market=gateway.market_info(TOKEN_YES), config=config)
    stored = payload.to_json()
    verdict = order_post(account=account, payload=stored, gateway=gateway)
    assert (verdict.kind, verdict.order_id) == ("placed", payload.order_hash)
    lookup = order_lookup(account=account, order_hash=payload.order_hash, gateway=gateway)
    assert lookup.kind == "found"
    trades = account_trades(account=account, gateway=gateway)
    assert [t.taker_order_id for t in trades.trades] == [payload.order_hash]
    balance = account_balance(account=account, asset_type="COLLATERAL", gateway=gateway)
    assert Decimal(989) < balance.balance < Decimal(991)
    shares = account_balance(account=account, asset_type="CONDITIONAL", token_id=TOKEN_YES, gateway=gateway)
    assert shares.balance > Decimal(50)
