"""Each metric family moves when its event happens: copies driven through the pipeline against the
simulated venue over HTTP, read back from GET /metrics as a scraper reads them."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import dramatiq
import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from copytrading.detection.service import detection_poll
from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.reconcile import copytrades_reconcile
from copytrading.tasks import execute_copy_trades, platform_tick
from execution.simulator import VenueSimulator
from execution.switches import switch_set
from polyhunter.broker import send_to_queue
from tests.copytrading.pipeline.conftest import KEYS, follow, leader_buy, speed_account
from tests.copytrading.reliability.harness import limits
from tests.factories import make_account, make_copy_trade, make_leader, shared_deployment
from tests.ops.conftest import TOKEN, Scrape

pytestmark = pytest.mark.django_db


def run(trade_id: int) -> list[CopyTrade]:
    deployment = shared_deployment()
    result = fanout_leader_trade(leader_trade_id=trade_id, deployment=deployment)
    copytrades_execute(ids=result.pending_ids, deployment=deployment)
    return list(CopyTrade.objects.filter(leader_trade_id=trade_id).order_by("id"))


def test_copies_are_counted_by_the_status_they_reach_and_why(sim: VenueSimulator, scrape: Scrape) -> None:
    filled = scrape("polyhunter_copies_total", status="filled", reason="matched")
    paused = scrape("polyhunter_copies_total", status="skipped", reason="follow_paused")
    relationship = follow(speed_account(sim))
    follow(make_account(), leader=relationship.leader, status="paused")
    rows = run(leader_buy(relationship.leader).id)
    assert sorted(row.status for row in rows) == ["filled", "skipped"]
    assert scrape("polyhunter_copies_total", status="filled", reason="matched") == filled + 1
    assert scrape("polyhunter_copies_total", status="skipped", reason="follow_paused") == paused + 1


def test_each_stage_of_a_copy_is_timed(sim: VenueSimulator, scrape: Scrape) -> None:
    stages = ("fanout", "claim", "sign", "post", "answer")
    before = {stage: scrape("polyhunter_copy_stage_seconds_count", stage=stage) for stage in stages}
    relationship = follow(speed_account(sim))
    (row,) = run(leader_buy(relationship.leader).id)
    assert row.status == CopyTrade.Status.FILLED
    for stage in stages:
        assert scrape("polyhunter_copy_stage_seconds_count", stage=stage) == before[stage] + 1, stage


def test_venue_answers_are_counted_by_endpoint_and_class_and_timed(sim: VenueSimulator, scrape: Scrape) -> None:
    placed = scrape("polyhunter_venue_answers_total", endpoint="post_order", kind="placed", reason="matched")
    failed = scrape("polyhunter_venue_answers_total", endpoint="post_order", kind="unknown", reason="server_error")
    timed = scrape("polyhunter_venue_request_seconds_count", endpoint="post_order")
    books = scrape("polyhunter_venue_answers_total", endpoint="book", kind="ok", reason="http_200")
    relationship = follow(speed_account(sim))
    run(leader_buy(relationship.leader).id)
    sim.add_fault("error_after", "POST /order", status=500)
    (row,) = run(leader_buy(relationship.leader).id)
    assert row.status == CopyTrade.Status.UNKNOWN
    placed_now = scrape("polyhunter_venue_answers_total", endpoint="post_order", kind="placed", reason="matched")
    assert placed_now == placed + 1
    assert (
        scrape("polyhunter_venue_answers_total", endpoint="post_order", kind="unknown", reason="server_error")
        == failed + 1
    )
    assert scrape("polyhunter_venue_request_seconds_count", endpoint="post_order") == timed + 2
    assert scrape("polyhunter_venue_answers_total", endpoint="book", kind="ok", reason="http_200") > books


def test_a_venue_fault_logs_one_warning_with_the_copy_id(sim: VenueSimulator, caplog: pytest.LogCaptureFixture) -> None:
    relationship = follow(speed_account(sim))
    sim.add_fault("error_before", "POST /order", status=502)
    with caplog.at_level(logging.INFO):
        (row,) = run(leader_buy(relationship.leader).id)
    lines = [r for r in caplog.records if str(row.code) in r.getMessage()]
    assert [(r.levelname, r.name) for r in lines] == [("WARNING", "copytrading.pipeline.submit")]
    assert "venue fault" in lines[0].getMessage()


def test_reconciler_decisions_are_counted_and_logged_with_the_copy_id(
    sim: VenueSimulator, scrape: Scrape, caplog: pytest.LogCaptureFixture
) -> None:
    again = scrape("polyhunter_reconciler_decisions_total", decision="not_found_again")
    resent = scrape("polyhunter_reconciler_decisions_total", decision="resent")
    relationship = follow(speed_account(sim))
    sim.add_fault("error_before", "POST /order", status=500)  # nothing committed: the venue never saw it
    (row,) = run(leader_buy(relationship.leader).id)
    assert row.status == CopyTrade.Status.UNKNOWN
    with caplog.at_level(logging.INFO, logger="copytrading.pipeline.reconcile"):
        copytrades_reconcile(ids=[row.id])
        copytrades_reconcile(ids=[row.id])
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.FILLED
    assert scrape("polyhunter_reconciler_decisions_total", decision="not_found_again") == again + 1
    assert scrape("polyhunter_reconciler_decisions_total", decision="resent") == resent + 1
    said = [r.getMessage() for r in caplog.records if r.name == "copytrading.pipeline.reconcile"]
    assert len(said) == 2
    assert all(str(row.code) in line for line in said)


def test_the_breaker_opening_and_closing_is_counted_once_and_shown(
    sim: VenueSimulator, scrape: Scrape, caplog: pytest.LogCaptureFixture
) -> None:
    limits(breaker_min_orders=2, breaker_unknown_ratio=Decimal("0.5"), breaker_window_seconds=60)
    opened = scrape("polyhunter_breaker_changes_total", to="opened")
    closed = scrape("polyhunter_breaker_changes_total", to="closed")
    relationship = follow(speed_account(sim))
    sim.add_fault("error_before", "POST /order", status=500, count=2)
    run(leader_buy(relationship.leader).id)
    run(leader_buy(relationship.leader).id)
    with caplog.at_level(logging.INFO, logger="execution.guardrails.breaker"):
        (blocked,) = run(leader_buy(relationship.leader).id)
        run(leader_buy(relationship.leader).id)
    assert (blocked.status, blocked.reason_code) == (CopyTrade.Status.BLOCKED, "breaker_open")
    assert scrape("polyhunter_breaker_open") == 1
    assert scrape("polyhunter_breaker_window_answers", kind="unknown") == 2
    assert scrape("polyhunter_breaker_changes_total", to="opened") == opened + 1
    with time_machine.travel(timezone.now() + timedelta(minutes=2)), caplog.at_level(logging.INFO):
        (row,) = run(leader_buy(relationship.leader).id)
        assert row.status == CopyTrade.Status.FILLED
        assert scrape("polyhunter_breaker_open") == 0
    assert scrape("polyhunter_breaker_changes_total", to="closed") == closed + 1
    said = [r.getMessage() for r in caplog.records if r.name == "execution.guardrails.breaker"]
    assert len(said) == 2
    assert str(blocked.code) in said[0]
    assert str(row.code) in said[1]


def test_a_copy_waiting_for_its_signers_rate_limit_is_counted(sim: VenueSimulator, scrape: Scrape) -> None:
    limits(signer_orders_per_second=1)
    waits = scrape("polyhunter_rate_limit_waits_total", limiter="signer")
    # A signer no other test here uses: the window of one second is shared by the whole process.
    one = follow(speed_account(sim, key=KEYS[3]))
    follow(speed_account(sim, key=KEYS[3]), leader=one.leader)  # another account, the same signer
    rows = run(leader_buy(one.leader).id)
    assert sorted(row.status for row in rows) == ["filled", "pending"]
    assert scrape("polyhunter_rate_limit_waits_total", limiter="signer") == waits + 1


def test_open_and_stuck_copies_are_read_at_the_scrape(sim: VenueSimulator, scrape: Scrape) -> None:
    relationship = follow(speed_account(sim, key=KEYS[1]))
    sim.add_fault("drop", "POST /order")
    (row,) = run(leader_buy(relationship.leader).id)
    assert row.status == CopyTrade.Status.UNKNOWN
    assert scrape("polyhunter_copies_open", status="unknown") == 1
    assert scrape("polyhunter_copies_open_oldest_age_seconds", status="unknown") >= 0
    assert scrape("polyhunter_copies_stuck") == 0
    make_copy_trade(status=CopyTrade.Status.PENDING, deadline_at=timezone.now() - timedelta(minutes=1))
    assert scrape("polyhunter_copies_stuck") == 1
    assert scrape("polyhunter_copies_open", status="pending") == 1


def test_switches_and_pauses_are_read_at_the_scrape(scrape: Scrape) -> None:
    assert scrape("polyhunter_switch_engaged", switch="kill_switch") == 0
    switch_set(name="kill_switch", engaged=True, actor="test", reason="drill")
    make_leader(paused=True)
    assert scrape("polyhunter_switch_engaged", switch="kill_switch") == 1
    assert scrape("polyhunter_switch_engaged", switch="pause_copies") == 0
    assert scrape("polyhunter_paused", scope="leader") == 1


def test_queue_depth_and_the_oldest_message_age_are_read_at_the_scrape(broker: dramatiq.Broker, scrape: Scrape) -> None:
    shared_deployment()
    assert scrape("polyhunter_queue_messages", queue="shared.copies") == 0
    with time_machine.travel(timezone.now() - timedelta(seconds=30), tick=False):
        send_to_queue(execute_copy_trades, "shared.copies", [1])
    send_to_queue(execute_copy_trades, "shared.copies", [2])
    assert scrape("polyhunter_queue_messages", queue="shared.copies") == 2
    assert scrape("polyhunter_queue_oldest_age_seconds", queue="shared.copies") >= 30


def test_detector_and_scheduler_heartbeats_are_read_at_the_scrape(sim: VenueSimulator, scrape: Scrape) -> None:
    leader = follow(make_account()).leader
    detection_poll(wallet_id=leader.id)
    platform_tick()
    assert 0 <= scrape("polyhunter_detector_heartbeat_age_seconds", detector="data_api") < 60
    assert 0 <= scrape("polyhunter_scheduler_heartbeat_age_seconds") < 60


def test_metrics_are_refused_without_the_token(client: Client) -> None:
    with override_settings(METRICS_TOKEN=TOKEN, METRICS_ALLOWED_NETWORKS=[], METRICS_PUBLIC=False):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    with override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=[], METRICS_PUBLIC=False):
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_an_allowed_network_reads_metrics_without_the_token(client: Client) -> None:
    with override_settings(METRICS_TOKEN=TOKEN, METRICS_ALLOWED_NETWORKS=["127.0.0.0/8"], METRICS_PUBLIC=False):
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401


def test_metrics_are_public_only_in_the_embedded_demo(client: Client) -> None:
    with override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=[], METRICS_PUBLIC=True):
        assert client.get("/metrics").status_code == 200
