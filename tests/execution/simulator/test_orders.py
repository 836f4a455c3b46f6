"""Order intake: who may sign what, for which exchange, and the exact refusals."""

from __future__ import annotations

import copy

import pytest

from execution.simulator import ApiCredentials, Venue
from execution.simulator.errors import VenueError

from .support import (
    ADDR0,
    ADDR1,
    DEPOSIT0,
    EXCHANGE_V3,
    NEG_RISK_EXCHANGE,
    NR_YES,
    PK0,
    PK1,
    PROXY0,
    SAFE0,
    YES,
    body,
    limit_amounts,
    sign_deposit_wallet_order,
    sign_order,
)


def limit_buy(price: str = "0.50", shares: str = "10", **kwargs: object) -> dict[str, object]:
    maker_amount, taker_amount = limit_amounts("BUY", price, shares)
    return sign_order(
        str(kwargs.pop("key", PK0)),
        token_id=str(kwargs.pop("token_id", YES)),
        side="BUY",
        maker_amount=maker_amount,
        taker_amount=taker_amount,
        **kwargs,  # type: ignore[arg-type]
    )


def refusal(venue: Venue, payload: object, creds: ApiCredentials) -> VenueError:
    with pytest.raises(VenueError) as caught:
        venue.place(payload, creds)
    return caught.value


def test_it_accepts_a_validly_signed_eoa_limit_order_and_rests_it(venue: Venue, creds0: ApiCredentials) -> None:
    answer = venue.place(body(limit_buy(), creds0.key), creds0)
    assert answer["success"] is True
    assert answer["status"] == "live"
    assert answer["errorMsg"] == ""
    resting = venue.order(str(answer["orderID"]))
    assert resting is not None
    assert resting["status"] == "LIVE"
    assert resting["original_size"] == "10"
    assert resting["price"] == "0.5"


def test_it_refuses_a_forged_signature(venue: Venue, creds0: ApiCredentials) -> None:
    order = limit_buy()
    order["makerAmount"] = str(int(str(order["makerAmount"])) - 10_000)  # tampered after signing
    error = refusal(venue, body(order, creds0.key), creds0)
    assert (error.status, error.message) == (400, "invalid signature")


def test_it_refuses_a_signature_by_another_key_claiming_to_be_the_signer(venue: Venue, creds0: ApiCredentials) -> None:
    order = limit_buy(key=PK1)
    order["signer"] = order["maker"] = ADDR0
    assert refusal(venue, body(order, creds0.key), creds0).message == "invalid signature"


@pytest.mark.parametrize("version", ["1", "3"])
def test_it_refuses_an_order_signed_for_the_wrong_domain_version(
    venue: Venue, creds0: ApiCredentials, version: str
) -> None:
    order = limit_buy(version=version)
    assert refusal(venue, body(order, creds0.key), creds0).message == "invalid signature"


def test_it_refuses_an_order_signed_for_another_chain(venue: Venue, creds0: ApiCredentials) -> None:
    assert refusal(venue, body(limit_buy(chain_id=80002), creds0.key), creds0).message == "invalid signature"


def test_it_refuses_a_neg_risk_order_signed_for_the_standard_exchange(venue: Venue, creds0: ApiCredentials) -> None:
    order = limit_buy(price="0.5", token_id=NR_YES)
    assert refusal(venue, body(order, creds0.key), creds0).message == "invalid signature"


def test_it_accepts_a_neg_risk_order_signed_for_the_neg_risk_exchange(venue: Venue, creds0: ApiCredentials) -> None:
    order = limit_buy(price="0.5", token_id=NR_YES, exchange=NEG_RISK_EXCHANGE)
    assert venue.place(body(order, creds0.key), creds0)["status"] == "live"


def test_it_takes_protocol_v2_position_ids_on_exchange_v3_with_domain_3(venue: Venue, creds0: ApiCredentials) -> None:
    # Module 1, a condition, outcome 0: bits 40..103 are clear, so this is a protocol-V2 position.
    position = str((1 << 248) | (0xC0FFEE << 160) | 0)
    venue.add_market({"condition_id": "0x" + "cd" * 32, "tokens": [{"token_id": position, "outcome": "Yes"}]})
    for wrong in ({"version": "2"}, {"version": "3", "exchange": NEG_RISK_EXCHANGE}):
        order = limit_buy(token_id=position, **wrong)
        assert refusal(venue, body(order, creds0.key), creds0).message == "invalid signature"
    order = limit_buy(token_id=position, version="3", exchange=EXCHANGE_V3)
    assert venue.place(body(order, creds0.key), creds0)["success"] is True


def test_it_accepts_proxy_and_safe_orders_only_from_their_own_wallets(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_balance(PROXY0, pusd="100")
    venue.set_balance(SAFE0, pusd="100")
    assert venue.place(body(limit_buy(signature_type=1, maker=PROXY0), creds0.key), creds0)["success"] is True
    assert venue.place(body(limit_buy(signature_type=2, maker=SAFE0), creds0.key), creds0)["success"] is True
    for signature_type, maker in ((1, SAFE0), (2, PROXY0), (0, PROXY0)):
        order = limit_buy(signature_type=signature_type, maker=maker)
        assert refusal(venue, body(order, creds0.key), creds0).message == "invalid signature"


def test_it_accepts_a_deposit_wallet_order_signed_by_its_owner(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_balance(DEPOSIT0, pusd="100")
    maker_amount, taker_amount = limit_amounts("BUY", "0.5", "10")
    order = sign_deposit_wallet_order(
        PK0, wallet=DEPOSIT0, token_id=YES, side="BUY", maker_amount=maker_amount, taker_amount=taker_amount
    )
    answer = venue.place(body(order, creds0.key), creds0)
    assert answer["success"] is True
    resting = venue.order(str(answer["orderID"]))
    assert resting is not None
    assert resting["maker_address"] == DEPOSIT0.lower()


def test_it_refuses_a_deposit_wallet_order_signed_by_someone_else(venue: Venue) -> None:
    creds1 = venue.credentials(ADDR1)
    maker_amount, taker_amount = limit_amounts("BUY", "0.5", "10")
    order = sign_deposit_wallet_order(
        PK1, wallet=DEPOSIT0, token_id=YES, side="BUY", maker_amount=maker_amount, taker_amount=taker_amount
    )
    assert refusal(venue, body(order, creds1.key), creds1).message == "invalid signature"


def test_it_accepts_a_session_key_only_once_the_wallet_authorised_it(venue: Venue) -> None:
    creds1 = venue.credentials(ADDR1)
    venue.set_balance(DEPOSIT0, pusd="100")
    maker_amount, taker_amount = limit_amounts("BUY", "0.5", "10")

    def signed() -> dict[str, object]:
        return sign_deposit_wallet_order(
            PK1,
            wallet=DEPOSIT0,
            token_id=YES,
            side="BUY",
            maker_amount=maker_amount,
            taker_amount=taker_amount,
            session=True,
        )

    assert refusal(venue, body(signed(), creds1.key), creds1).message == "invalid signature"
    venue.authorize_session_signer(DEPOSIT0, ADDR1)
    assert venue.place(body(signed(), creds1.key), creds1)["success"] is True


def test_it_refuses_an_order_whose_owner_is_not_the_api_key(venue: Venue, creds0: ApiCredentials) -> None:
    error = refusal(venue, body(limit_buy(), "00000000-0000-4000-8000-000000000000"), creds0)
    assert (error.status, error.message) == (400, "the order owner has to be the owner of the API KEY")


def test_it_refuses_an_order_signed_by_another_signer_than_the_api_key(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_balance(ADDR1, pusd="100")
    error = refusal(venue, body(limit_buy(key=PK1), creds0.key), creds0)
    assert error.message == "the order signer address has to be the address of the API KEY"


def test_it_answers_a_second_post_of_the_same_order_as_duplicated(venue: Venue, creds0: ApiCredentials) -> None:
    payload = body(limit_buy(), creds0.key)
    first = venue.place(copy.deepcopy(payload), creds0)
    error = refusal(venue, payload, creds0)
    assert error.message == "order is invalid. Duplicated. Same order has already been placed, can't be placed again"
    assert len(venue.orders()) == 1
    assert venue.orders()[0]["id"] == first["orderID"]


def test_it_answers_a_v1_shaped_order_with_order_version_mismatch(venue: Venue, creds0: ApiCredentials) -> None:
    order = limit_buy()
    del order["timestamp"]
    order |= {"taker": "0x" + "00" * 20, "nonce": "0", "feeRateBps": "0"}
    assert refusal(venue, body(order, creds0.key), creds0).message == "order_version_mismatch"


@pytest.mark.parametrize(
    "breakage",
    [
        {"orderType": "IOC"},
        {"order": "not an object"},
        {"order_field": ("side", "buy")},
        {"order_field": ("makerAmount", "1.5")},
        {"order_field": ("maker", "0x1234")},
        {"order_field": ("tokenId", "0")},
    ],
)
def test_it_refuses_malformed_payloads_as_invalid_order_payload(
    venue: Venue, creds0: ApiCredentials, breakage: dict[str, object]
) -> None:
    payload = body(limit_buy(), creds0.key)
    field = breakage.get("order_field")
    if isinstance(field, tuple):
        payload["order"][field[0]] = field[1]
    else:
        payload.update(breakage)
    assert refusal(venue, payload, creds0).message == "Invalid order payload"


def test_it_refuses_orders_on_a_market_not_accepting_them(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_market(venue.market(YES).condition_id, accepting_orders=False)
    assert refusal(venue, body(limit_buy(), creds0.key), creds0).message == (
        "the market is not yet ready to process new orders"
    )


def test_it_checks_expiration_against_the_order_type(venue: Venue, creds0: ApiCredentials) -> None:
    now = int(venue.clock())
    assert refusal(venue, body(limit_buy(expiration=now + 3600), creds0.key), creds0).message == "invalid expiration"
    too_soon = body(limit_buy(expiration=now + 30), creds0.key, "GTD")
    assert refusal(venue, too_soon, creds0).message == "invalid expiration"
    assert venue.place(body(limit_buy(expiration=now + 300), creds0.key, "GTD"), creds0)["status"] == "live"


def test_it_refuses_post_only_on_fill_or_kill_types(venue: Venue, creds0: ApiCredentials) -> None:
    payload = body(limit_buy(), creds0.key, "FOK", post_only=True)
    assert refusal(venue, payload, creds0).message == "Invalid order payload"


def test_it_refuses_restricted_makers_with_the_real_strings(venue: Venue, creds0: ApiCredentials) -> None:
    maker = ADDR0.lower()
    venue.set_restriction(ADDR0, "deposit_wallet_flow")
    assert refusal(venue, body(limit_buy(), creds0.key), creds0).message == (
        "maker address not allowed, please use the deposit wallet flow"
    )
    venue.set_restriction(ADDR0, "banned")
    assert refusal(venue, body(limit_buy(), creds0.key), creds0).message == f"'{maker}' address banned"
    venue.set_restriction(ADDR0, "closed_only")
    assert refusal(venue, body(limit_buy(), creds0.key), creds0).message == f"'{maker}' address in closed only mode"
    venue.set_restriction(ADDR0, None)
    assert venue.place(body(limit_buy(), creds0.key), creds0)["success"] is True
