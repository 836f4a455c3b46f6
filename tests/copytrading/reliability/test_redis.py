"""Scenarios about Redis itself (docs/reliability.md, S15, S16), each on a Redis of its own that it
restarts, wipes or fills: the database is the system of record, Redis only notifies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis as redis_client

from copytrading.models import CopyTrade, Deployment, LeaderTrade
from copytrading.tasks import execute_copy_trades
from soak.processes import procfile
from tests.copytrading.reliability.conftest import Checker, Spawner
from tests.copytrading.reliability.harness import (
    ROOT,
    RUNDRAMATIQ,
    Evidence,
    Venue,
    follow,
    leader_buy,
    pending_copy,
    pool_args,
    pool_env,
    speed_account,
    wait_for,
)
from tests.copytrading.reliability.own import Ticker, broker_on, queue_length, redis_server, send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]
QUEUES = ("shared.fanout", "shared.copies", "shared.reconcile", "shared.settle")
DONE = (CopyTrade.Status.FILLED, CopyTrade.Status.CONFIRMED)


def test_s15_a_redis_restart_that_loses_every_message_loses_no_copy_the_sweeper_sends_them_again(
    venue: Venue, deployment: Deployment, spawn: Spawner, evidence: Evidence, check: Checker, tmp_path: Path
) -> None:
    queued = [pending_copy(venue, deployment, n=n) for n in range(4)]
    # A leader trade recorded, whose fan-out message was still in Redis.
    unfanned = leader_buy(follow(speed_account(venue, n=9)).leader)
    venue.sim.add_fault("delay_after", "POST /order", count=None, delay_ms=1_500)
    with redis_server() as redis:
        broker = broker_on(redis)
        evidence.extra_brokers.append(broker)
        for row in queued:
            send(broker, execute_copy_trades, "shared.copies", [row.id])
        env = pool_env(tmp_path, REDIS_URL=redis.url(), VENUE_READ_TIMEOUT="30")
        spawn(*pool_args(*QUEUES, threads=2), command=RUNDRAMATIQ, env=env)
        wait_for(
            lambda: CopyTrade.objects.filter(status=CopyTrade.Status.SIGNED).exists(),
            timeout=90,
            what="an order in flight",
        )
        # Redis dies and comes back empty: queued, prefetched and in-flight messages are gone.
        redis.restart(wipe=True, down_for=1.0)
        assert queue_length(redis, "shared.copies") == 0
        venue.sim.clear_faults()
        with Ticker(broker):
            wait_for(
                lambda: CopyTrade.objects.filter(status__in=DONE).count() == 5,
                timeout=120,
                what="every copy placed once the sweeper re-sent what Redis lost",
            )
        assert LeaderTrade.objects.get(id=unfanned.id).status == LeaderTrade.Status.FANNED_OUT
        rows = list(CopyTrade.objects.all())
        assert sorted(row.submit_count for row in rows) == [1] * 5
        assert len(venue.sim.orders()) == len(venue.proxy.order_posts()) == 5
        check()


def test_s15_the_scheduler_keeps_ticking_after_a_redis_restart_or_exits_with_an_error(
    venue: Venue, spawn: Spawner, evidence: Evidence, check: Checker, tmp_path: Path
) -> None:
    with redis_server() as redis:
        evidence.extra_brokers.append(broker_on(redis))
        # The Procfile's scheduler (dramatiq-crontab's own command exited 0 here: issue 17 fix 4).
        scheduler = spawn(command=procfile()["scheduler"][1:], env=pool_env(tmp_path, REDIS_URL=redis.url()))
        # Nobody consumes ``platform`` here: its length counts the scheduler's ticks.
        wait_for(lambda: queue_length(redis, "platform") >= 1, timeout=90, what="the scheduler's first tick")
        redis.restart(wipe=True, down_for=1.0)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and scheduler.popen.poll() is None:
            if queue_length(redis, "platform") >= 2:
                break
            time.sleep(0.2)
        code = scheduler.popen.poll()
        # A process manager restarts a process that failed; one that exits 0 stays down, and with
        # it reconcile, sweep and detection.
        assert (code is None and queue_length(redis, "platform") >= 2) or (code is not None and code != 0), (
            code,
            scheduler.output()[-2000:],
        )
        check()


def test_s16_workers_and_the_scheduler_refuse_to_start_on_a_redis_that_may_evict_keys(
    venue: Venue, check: Checker, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    with redis_server(policy="allkeys-lru") as redis:
        lines = procfile()
        for command in (lines["worker"], lines["scheduler"], [sys.executable, "manage.py", "check_config"]):
            done = subprocess.run(
                command,
                cwd=ROOT,
                env={**env, **pool_env(tmp_path, REDIS_URL=redis.url())},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode != 0, command
            assert "maxmemory-policy 'allkeys-lru'" in done.stdout + done.stderr, command
        # Nothing was consumed or scheduled: the refusal came before any work.
        assert redis.client().dbsize() == 0
    check()


def test_s16_a_full_redis_refuses_the_messages_evicts_nothing_and_the_sweeper_sends_them_once_it_has_room(
    venue: Venue, deployment: Deployment, spawn: Spawner, evidence: Evidence, check: Checker, tmp_path: Path
) -> None:
    earlier = pending_copy(venue, deployment, n=1)
    leader = follow(speed_account(venue, n=2)).leader
    follow(speed_account(venue, n=3), leader=leader)
    trade = leader_buy(leader)
    with redis_server() as redis:
        broker = broker_on(redis)
        evidence.extra_brokers.append(broker)
        send(broker, execute_copy_trades, "shared.copies", [earlier.id])  # queued before Redis fills up
        client = redis.client()
        filler = 500
        client.mset({f"filler:{n}": b"x" * 4096 for n in range(filler)})
        # Full: the memory limit is now below what Redis holds, so every write is refused.
        client.config_set("maxmemory", int(client.info("memory")["used_memory"]) // 2)
        with pytest.raises(redis_client.exceptions.OutOfMemoryError):
            client.set("one-more", b"x")

        # Fan-out commits its rows, then cannot send their messages: the process fails loudly.
        fanout = spawn("fanout", str(trade.id), env={"REDIS_URL": redis.url()})
        assert fanout.wait(timeout=120) != 0
        assert "OutOfMemoryError" in fanout.stderr()
        rows = list(CopyTrade.objects.filter(leader_trade=trade))
        assert [row.status for row in rows] == [CopyTrade.Status.PENDING] * 2
        # noeviction: nothing was dropped to make room, neither the filler nor the queued message.
        assert all(client.exists(f"filler:{n}") for n in range(filler))
        assert queue_length(redis, "shared.copies") == 1

        client.config_set("maxmemory", 0)  # room again (an operator's fix)
        spawn(*pool_args(*QUEUES), command=RUNDRAMATIQ, env=pool_env(tmp_path, REDIS_URL=redis.url()))
        with Ticker(broker):
            wait_for(
                lambda: CopyTrade.objects.filter(status__in=DONE).count() == 3,
                timeout=120,
                what="the sweeper to send the fan-out's messages",
            )
        assert len(venue.sim.orders()) == len(venue.proxy.order_posts()) == 3
        check()
