"""replay_tape on the shared real tape: one LeaderTrade per distinct (tx, token, side) TRADE row."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from copytrading.detection.replay import tape_load, tape_replay
from copytrading.models import DetectorState, LeaderTrade, WatchedWallet
from tests.copytrading.detection.helpers import fanned_out_ids
from tests.factories import make_leader

pytestmark = pytest.mark.django_db

TAPE = Path(__file__).resolve().parents[2] / "fixtures" / "leader_tape_data_api_activity_2024-09.json"
Capture = Callable[..., Any]


def tape_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(TAPE.read_text())
    return rows


def distinct_trades(rows: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {(r["proxyWallet"], r["transactionHash"], r["asset"], r["side"]) for r in rows if r["type"] == "TRADE"}


def test_replay_tape_records_one_leader_trade_per_distinct_trade_row_of_the_shared_tape(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    out, err = StringIO(), StringIO()
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("replay_tape", str(TAPE), stdout=out, stderr=err)

    rows = tape_rows()
    recorded = {(t.leader.address, t.tx_hash, t.token_id, t.side) for t in LeaderTrade.objects.select_related("leader")}
    assert recorded == distinct_trades(rows)
    assert LeaderTrade.objects.count() == len(distinct_trades(rows)) == 5
    assert set(LeaderTrade.objects.values_list("source", "status")) == {("replay", "new")}
    assert fanned_out_ids(callbacks) == sorted(LeaderTrade.objects.values_list("id", flat=True))
    summary = out.getvalue()
    assert "rows read        150" in summary
    assert "trades recorded  5 (5 sent to fan-out, 0 stale)" in summary
    assert "duplicates       78" in summary
    assert "ignored          REDEEM 67" in summary
    assert "replay [" in err.getvalue()
    assert "150/150" in err.getvalue()
    assert DetectorState.objects.get(name="replay").runs == 1


def test_a_row_matches_its_real_values_and_keeps_the_tape_time_in_raw() -> None:
    call_command("replay_tape", str(TAPE), stdout=StringIO(), stderr=StringIO())
    row = next(r for r in tape_rows() if r["type"] == "TRADE")
    trade = LeaderTrade.objects.get(tx_hash=row["transactionHash"], token_id=row["asset"])
    assert str(trade.shares.normalize()) == str(row["size"])
    assert trade.price == Decimal(str(row["price"]))
    assert trade.raw["legs"][0]["timestamp"] == row["timestamp"]
    assert trade.detection_lag_seconds == 0


def test_replaying_a_tape_twice_records_nothing_the_second_time() -> None:
    call_command("replay_tape", str(TAPE), stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    call_command("replay_tape", str(TAPE), stdout=out, stderr=StringIO())
    assert "trades recorded  0" in out.getvalue()
    assert "duplicates       83" in out.getvalue()
    assert LeaderTrade.objects.count() == 5


def test_it_replays_one_leader_only_when_asked() -> None:
    leader = "0xf8ba34bf0e95d952d05b578bfbc0833f9242a286"
    out = StringIO()
    call_command("replay_tape", str(TAPE), "--leader", leader, stdout=out, stderr=StringIO())
    expected = {t for t in distinct_trades(tape_rows()) if t[0] == leader}
    assert set(LeaderTrade.objects.values_list("leader__address", flat=True)) == {leader}
    assert LeaderTrade.objects.count() == len(expected)
    assert "other leader 140" in out.getvalue()


def test_it_leaves_unwatched_wallets_alone_when_told_not_to_add_leaders() -> None:
    make_leader("0xf8ba34bf0e95d952d05b578bfbc0833f9242a286")
    summary = tape_replay(rows=tape_load(TAPE), create_leaders=False)
    assert WatchedWallet.objects.count() == 1
    assert summary.ignored["unwatched"] == 73
    assert summary.recorded == LeaderTrade.objects.count() >= 1


def test_at_speed_x_it_waits_the_tapes_gaps_divided_by_x() -> None:
    rows = [r for r in tape_rows() if r["type"] == "TRADE"]
    seconds = sorted({r["timestamp"] for r in rows})
    waits: list[float] = []
    tape_replay(rows=tape_load(TAPE), speed=10, sleep=waits.append)
    assert waits == [(b - a) / 10 for a, b in pairwise(seconds)]


def test_it_refuses_a_negative_speed_and_a_file_that_is_not_a_tape(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        call_command("replay_tape", str(TAPE), "--speed", "-1")
    bad = tmp_path / "tape.json"
    bad.write_text('{"not": "a list"}')
    with pytest.raises(CommandError):
        call_command("replay_tape", str(bad))
