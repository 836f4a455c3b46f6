"""``archive --older-than 90d``: killed half-way (a real process, SIGKILLed inside a batch) and run
again, every row is archived exactly once, the rows an open position needs stay live, and the
follower's history and P&L still show everything."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.models import User
from copytrading.archive import archive_run
from copytrading.models import ArchivedCopyTrade, ArchivedLeaderTrade, CopyTrade, LeaderTrade, Position
from copytrading.pnl import pnl_for_accounts
from polyhunter.audit import audit_record
from polyhunter.models import ArchivedAuditEvent, AuditEvent
from tests.copytrading.reliability.harness import database_url
from tests.factories import make_account, make_copy_trade, make_leader_trade, make_relationship, make_user

ROOT = Path(__file__).resolve().parents[2]
OLD = timedelta(days=100)
BATCH = 5


def old_history(user: User) -> dict[str, list[int]]:
    """Copies of one follow: 24 finished long ago (4 of them filled), one long ago on a token the
    follow still holds, one recent; each with its own leader trade; 6 old audit rows."""
    relationship = make_relationship(account=make_account(user=user))
    then = timezone.now() - OLD
    archivable = []
    for n in range(24):
        trade = make_leader_trade(leader=relationship.leader, occurred_at=then, detected_at=then)
        LeaderTrade.objects.filter(id=trade.id).update(status=LeaderTrade.Status.FANNED_OUT)
        filled = n < 4
        row = make_copy_trade(
            relationship=relationship,
            leader_trade=trade,
            status=CopyTrade.Status.CONFIRMED if filled else CopyTrade.Status.SKIPPED,
            reason_code="" if filled else "slippage",
            size_matched=Decimal(10) if filled else Decimal(0),
            fill_usdc=Decimal("5.7") if filled else Decimal(0),
            fill_price=Decimal("0.57") if filled else None,
            filled_at=then if filled else None,
        )
        archivable.append(row.id)
    held_token = "9" * 77
    held = make_copy_trade(relationship=relationship, status=CopyTrade.Status.CONFIRMED, token_id=held_token)
    Position.objects.create(account=relationship.account, relationship=relationship, token_id=held_token, shares=3)
    recent = make_copy_trade(relationship=relationship, status=CopyTrade.Status.SKIPPED, reason_code="slippage")
    CopyTrade.objects.filter(id__in=[*archivable, held.id]).update(created_at=then)
    audits = [audit_record(actor="test", action="drill").id for _ in range(6)]
    AuditEvent.objects.filter(id__in=audits).update(created_at=then)
    return {"archivable": archivable, "kept": [held.id, recent.id], "audits": audits}


def start(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | {"DATABASE_URL": database_url()}
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_stopped(pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "T":
            return
        time.sleep(0.05)
    raise AssertionError("the archive process never stopped")


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_archive_killed_half_way_and_rerun_archives_each_row_once_and_pages_still_show_it(client: Client) -> None:
    user = make_user("archived-follower")
    made = old_history(user)
    account_ids = list(user.trading_accounts.values_list("id", flat=True))
    pnl_before = pnl_for_accounts(account_ids=account_ids, now=timezone.now())

    # The archive service in its own process, frozen inside its third batch, then SIGKILLed there.
    process = start(
        "-m", "tests.ops.archive_worker", "--older-than", "90d", "--batch-size", str(BATCH), "--stop-in-batch", "3"
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "STOPPED 3", line + (process.stderr.read() if process.stderr else "")
    wait_stopped(process.pid)
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL

    # Two whole batches moved; the third, killed inside its transaction, left nothing behind.
    assert ArchivedCopyTrade.objects.count() == 2 * BATCH
    assert CopyTrade.objects.filter(id__in=made["archivable"]).count() == len(made["archivable"]) - 2 * BATCH

    rerun = start("manage.py", "archive", "--older-than", "90d", "--batch-size", "7")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"archived {len(made['archivable'])} copy trades" not in out  # the first run's rows are not counted again
    assert f"archived {len(made['archivable']) - 2 * BATCH} copy trades" in out
    assert "archive copy trades [" in err  # the progress bar
    if connection.vendor == "postgresql":
        assert "vacuumed and analysed:" in out

    archived_ids = list(ArchivedCopyTrade.objects.values_list("original_id", flat=True))
    assert sorted(archived_ids) == sorted(made["archivable"])  # each exactly once
    assert sorted(CopyTrade.objects.values_list("id", flat=True)) == sorted(made["kept"])
    assert ArchivedLeaderTrade.objects.count() == len(made["archivable"])
    assert LeaderTrade.objects.count() == 2  # the kept copies' leader trades
    assert sorted(ArchivedAuditEvent.objects.values_list("original_id", flat=True)) == sorted(made["audits"])
    assert not AuditEvent.objects.filter(id__in=made["audits"]).exists()

    # The follower's pages and P&L read the archive too.
    client.force_login(user)
    page = client.get(reverse("history"))
    assert page.status_code == 200
    assert page.content.decode().count("(archived)") == 24
    assert "Page 1 of 1" in page.content.decode()
    streamed = client.get(reverse("history_csv"))
    exported = list(csv.DictReader(io.StringIO(b"".join(streamed.streaming_content).decode())))  # type: ignore[attr-defined]
    assert len(exported) == 26
    assert {row["code"] for row in exported} >= {
        str(c) for c in ArchivedCopyTrade.objects.values_list("code", flat=True)
    }
    assert pnl_for_accounts(account_ids=account_ids, now=timezone.now())[:-1] == pnl_before[:-1]


@pytest.mark.django_db
def test_a_dry_run_counts_and_changes_nothing() -> None:
    made = old_history(make_user())
    summary = archive_run(older_than=timedelta(days=90), dry_run=True)
    assert summary.rows == {"copy trades": 24, "leader trades": 0, "audit events": 6}
    assert CopyTrade.objects.count() == len(made["archivable"]) + 2
    assert not ArchivedCopyTrade.objects.exists()


@pytest.mark.django_db
def test_the_command_refuses_a_malformed_age() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="90d"):
        call_command("archive", "--older-than", "three months")


def test_the_scheduler_runs_the_archive_every_week() -> None:
    from dramatiq_crontab import scheduler

    import copytrading.tasks  # noqa: F401  (declares the scheduled actors)

    (job,) = [job for job in scheduler.get_jobs() if job.name == "archive_weekly"]
    assert str(job.trigger) == "cron[month='*', day='*', day_of_week='sun', hour='4', minute='30']"


@pytest.mark.django_db
def test_the_weekly_archive_uses_the_retention_setting(settings: object) -> None:
    from copytrading.tasks import archive_weekly

    made = old_history(make_user())
    settings.ARCHIVE_RETENTION_DAYS = 0  # type: ignore[attr-defined]
    archive_weekly()
    assert not ArchivedCopyTrade.objects.exists()
    before = REGISTRY.get_sample_value("polyhunter_archived_rows_total", {"table": "copy_trades"}) or 0
    settings.ARCHIVE_RETENTION_DAYS = 90  # type: ignore[attr-defined]
    archive_weekly()
    assert ArchivedCopyTrade.objects.count() == len(made["archivable"])
    moved = REGISTRY.get_sample_value("polyhunter_archived_rows_total", {"table": "copy_trades"})
    assert moved == before + len(made["archivable"])
