"""The OrderFilled decoder against real Polygon fills (V1 2022, V2 2026) and malformed logs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from copytrading.detection.onchain import (
    TOPIC_ORDER_FILLED_V1,
    TOPIC_ORDER_FILLED_V2,
    LeaderFill,
    MalformedLog,
    NotOrderFilled,
    decode_order_filled,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
U = Decimal(10) ** 6


def items(name: str) -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return list(data["items"])


V1 = items("onchain_orderfilled_v1_real_rows_with_reconstructed_logs.json")
V2 = items("onchain_orderfilled_v2_real_rows_with_reconstructed_logs.json")


def expected_amounts(row: dict[str, Any], side: str) -> tuple[Decimal, Decimal]:
    making, taking = int(row["maker_amount_filled"]), int(row["taker_amount_filled"])
    usdc, shares = (making, taking) if side == "BUY" else (taking, making)
    return Decimal(shares) / U, Decimal(usdc) / U


def assert_matches_row(fill: LeaderFill, row: dict[str, Any], *, side: str, token_id: str) -> None:
    shares, usdc = expected_amounts(row, side)
    assert fill.side == side
    assert fill.token_id == token_id
    assert fill.shares == shares
    assert fill.usdc == usdc
    assert fill.price == usdc / shares
    assert fill.wallet == row["maker"].lower()
    assert fill.counterparty == row["taker"].lower()
    assert fill.is_taker_leg == (row["taker"].lower() == row["address"].lower())
    assert fill.order_hash == row["order_hash"]
    assert fill.fee_raw == int(row["fee"])
    assert fill.tx_hash == row["transaction_hash"]
    assert fill.log_index == row["log_index"]
    assert fill.block_number == row["block_number"]
    assert fill.exchange == row["address"].lower()


@pytest.mark.parametrize("item", V1, ids=lambda i: f"v1-log{i['decoded_row_from_dataset']['log_index']}")
def test_it_decodes_every_real_v1_row_to_the_dataset_values(item: dict[str, Any]) -> None:
    row = item["decoded_row_from_dataset"]
    fill = decode_order_filled(item["reconstructed_raw_log"])
    # V1 has no side field: the asset given up being collateral (id 0) makes it a BUY.
    side = "BUY" if row["maker_asset_id"] == "0" else "SELL"
    token = row["taker_asset_id"] if side == "BUY" else row["maker_asset_id"]
    assert_matches_row(fill, row, side=side, token_id=token)
    assert fill.version == 1
    assert fill.fee_unit == ("shares" if side == "BUY" else "collateral")


@pytest.mark.parametrize("item", V2, ids=lambda i: f"v2-log{i['decoded_row_from_dataset']['log_index']}")
def test_it_decodes_every_real_v2_row_to_the_dataset_values(item: dict[str, Any]) -> None:
    row = item["decoded_row_from_dataset"]
    fill = decode_order_filled(item["reconstructed_raw_log"])
    assert_matches_row(fill, row, side="BUY" if row["side"] == 0 else "SELL", token_id=row["token_id"])
    assert fill.version == 2
    assert fill.fee_unit == "collateral"


def test_it_reads_the_reference_worked_examples_exactly() -> None:
    taker_leg = decode_order_filled(V2[0]["reconstructed_raw_log"])
    assert (taker_leg.side, taker_leg.shares, taker_leg.usdc, taker_leg.price) == (
        "BUY",
        Decimal(10),
        Decimal(8),
        Decimal("0.8"),
    )
    assert taker_leg.is_taker_leg
    assert taker_leg.fee_raw == 115_200
    maker_leg = decode_order_filled(V2[1]["reconstructed_raw_log"])
    assert (maker_leg.side, maker_leg.shares, maker_leg.usdc, maker_leg.price) == (
        "BUY",
        Decimal("0.33"),
        Decimal("0.1551"),
        Decimal("0.47"),
    )
    assert not maker_leg.is_taker_leg
    assert maker_leg.wallet == "0x5f8d79561b5af789b980160ab6422ed418be8b2c"


def test_it_reads_the_v1_self_match_as_a_buy_leg_and_a_sell_leg_of_the_same_wallet() -> None:
    maker_leg, taker_leg = (decode_order_filled(i["reconstructed_raw_log"]) for i in V1)
    assert (maker_leg.side, taker_leg.side) == ("BUY", "SELL")
    assert maker_leg.wallet == taker_leg.wallet == maker_leg.counterparty
    assert taker_leg.is_taker_leg
    assert not maker_leg.is_taker_leg
    assert maker_leg.price == taker_leg.price == Decimal("0.5")


def test_it_accepts_the_web3_form_with_bytes_and_integers() -> None:
    log = V2[0]["reconstructed_raw_log"]
    web3_form = {
        **log,
        "topics": [bytes.fromhex(t[2:]) for t in log["topics"]],
        "data": bytes.fromhex(log["data"][2:]),
        "transactionHash": bytes.fromhex(log["transactionHash"][2:]),
        "logIndex": int(log["logIndex"], 16),
        "blockNumber": int(log["blockNumber"], 16),
    }
    assert decode_order_filled(web3_form) == decode_order_filled(log)


def test_it_gives_no_price_for_a_fill_of_zero_shares() -> None:
    log = dict(V2[0]["reconstructed_raw_log"])
    words = [log["data"][2 + 64 * i : 2 + 64 * (i + 1)] for i in range(7)]
    words[3] = "0" * 64  # takerAmountFilled: the shares a BUY received
    log["data"] = "0x" + "".join(words)
    fill = decode_order_filled(log)
    assert fill.shares == 0
    assert fill.price is None


def with_(log: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**log, **changes}


V2_LOG = V2[0]["reconstructed_raw_log"]
TRANSFER_SINGLE = "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62"


def test_it_refuses_logs_of_other_events_with_a_typed_error() -> None:
    with pytest.raises(NotOrderFilled):
        decode_order_filled(with_(V2_LOG, topics=[TRANSFER_SINGLE, *V2_LOG["topics"][1:]]))


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(with_(V2_LOG, topics=V2_LOG["topics"][:3]), id="three-topics"),
        pytest.param(with_(V2_LOG, topics=[*V2_LOG["topics"], V2_LOG["topics"][1]]), id="five-topics"),
        pytest.param(with_(V2_LOG, topics=[]), id="no-topics"),
        pytest.param(with_(V2_LOG, data=V2_LOG["data"][:-64]), id="short-data"),
        pytest.param(with_(V2_LOG, data=V2_LOG["data"] + "00" * 32), id="long-data"),
        pytest.param(with_(V2_LOG, data="0xzz" + V2_LOG["data"][4:]), id="non-hex-data"),
        pytest.param(with_(V2_LOG, data=V2_LOG["data"][:-1]), id="odd-length-data"),
        pytest.param(
            with_(V2_LOG, topics=[*V2_LOG["topics"][:2], "0x" + "ff" * 32, V2_LOG["topics"][3]]), id="bad-maker"
        ),
        pytest.param(with_(V2_LOG, topics=[*V2_LOG["topics"][:3], "0x1234"]), id="short-topic"),
        pytest.param(with_(V2_LOG, data="0x" + "00" * 31 + "02" + V2_LOG["data"][66:]), id="side-2"),
        pytest.param(with_(V2_LOG, logIndex=None), id="no-log-index"),
        pytest.param(with_(V2_LOG, blockNumber="pending"), id="bad-block-number"),
        pytest.param(with_(V2_LOG, transactionHash="0x12"), id="bad-tx-hash"),
        pytest.param(with_(V2_LOG, address="0x1234"), id="bad-address"),
        pytest.param(with_(V1[0]["reconstructed_raw_log"], data="0x" + "00" * 160), id="v1-no-token"),
        pytest.param(
            with_(
                V1[0]["reconstructed_raw_log"],
                data="0x" + "00" * 31 + "01" + V1[0]["reconstructed_raw_log"]["data"][66:],
            ),
            id="v1-two-tokens",
        ),
    ],
)
def test_it_never_produces_a_fill_from_a_malformed_log(broken: dict[str, Any]) -> None:
    with pytest.raises(MalformedLog):
        decode_order_filled(broken)


def test_it_knows_both_topic0_values_from_the_computed_table() -> None:
    table = json.loads((FIXTURES / "event_topics_computed.json").read_text())["topics"]
    assert table["OrderFilled_v1"]["topic0"] == TOPIC_ORDER_FILLED_V1
    assert table["OrderFilled_v2"]["topic0"] == TOPIC_ORDER_FILLED_V2
