"""Every registered ModelAdmin renders its changelist, add and change pages for a superuser."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import SessionKey, User
from copytrading.models import (
    ArchivedCopyTrade,
    ArchivedLeaderTrade,
    CopyRelationship,
    CopyTrade,
    Deployment,
    LeaderProfile,
    LeaderTrade,
    MarketLabel,
    Notification,
    NotificationSettings,
    Position,
    WatchedWallet,
)
from execution.models import DebtRecord, GuardrailSettings, OperatorWallet, TradingSwitch
from polyhunter.audit import audit_record
from polyhunter.models import ArchivedAuditEvent
from tests.factories import make_copy_trade, shared_deployment

pytestmark = pytest.mark.django_db

# Rows for models whose defaults cannot make one (third-party admins registered by installed apps).
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "auth.Group": {"name": "operators"},
    "execution.VenueHealth": {"id": 1, "expected_version": 2},
    "execution.ChainTransaction": {
        "wallet": "0x" + "ab" * 20,
        "nonce": 0,
        "purpose": "push",
        "to_address": "0x" + "cd" * 20,
        "call_data": b"",
        "gas": 21_000,
        "tx_hash": "0x" + "12" * 32,
        "raw_tx": b"\x02",
        "max_fee_per_gas": 1,
        "max_priority_fee_per_gas": 1,
        "sent_at": timezone.now(),
        "sent_block": 0,
    },
    "axes.AccessAttempt": {"username": "u", "ip_address": "127.0.0.1", "user_agent": "ua", "failures_since_start": 1},
    "axes.AccessLog": {"username": "u", "ip_address": "127.0.0.1", "user_agent": "ua"},
    "axes.AccessFailureLog": {"username": "u", "ip_address": "127.0.0.1", "user_agent": "ua"},
}

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.fixture
def staff_client() -> Client:
    superuser = User.objects.create_superuser("root", "root@example.com", "pw-root")
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def one_of_each() -> dict[type[models.Model], models.Model]:
    trade = make_copy_trade(status=CopyTrade.Status.SKIPPED, reason_code="follow_paused")
    position = Position.objects.create(
        account=trade.account, relationship=trade.relationship, token_id=trade.token_id, shares=5, cost_usdc=2
    )
    switch = TradingSwitch.objects.create(name=TradingSwitch.Name.KILL_SWITCH)
    assert trade.leader_trade is not None
    rows: dict[type[models.Model], models.Model] = {
        CopyTrade: trade,
        CopyRelationship: trade.relationship,
        LeaderTrade: trade.leader_trade,
        WatchedWallet: trade.relationship.leader,
        Deployment: shared_deployment(),
        Position: position,
        GuardrailSettings: GuardrailSettings.current(),
        TradingSwitch: switch,
        type(trade.account): trade.account,
        User: trade.account.user,
        SessionKey: SessionKey.objects.create(
            account=trade.account, address="0x" + "5e" * 20, wallet_address="0x" + "de" * 20
        ),
    }
    rows[type(audit_record(actor="test", action="smoke"))] = audit_record(actor="test", action="smoke")
    now = timezone.now()
    user = trade.account.user
    rows[LeaderProfile] = LeaderProfile.objects.create(leader=trade.relationship.leader, proposed_by=user)
    rows[MarketLabel] = MarketLabel.objects.create(
        token_id=trade.token_id, title="Will it rain?", source="venue", fetched_at=now
    )
    rows[Notification] = Notification.objects.create(
        user=user, kind="custody", text="t", dedupe_key="k", created_at=now
    )
    rows[NotificationSettings] = NotificationSettings.objects.create(user=user, webhook_url="https://example.com/h")
    rows[ArchivedCopyTrade] = ArchivedCopyTrade.objects.create(
        original_id=10**9,
        code=uuid.uuid4(),
        account=trade.account,
        relationship=trade.relationship,
        trigger="leader",
        side="BUY",
        token_id=trade.token_id,
        status="skipped",
        created_at=trade.created_at,
        row={},
    )
    rows[ArchivedLeaderTrade] = ArchivedLeaderTrade.objects.create(
        original_id=10**9,
        code=uuid.uuid4(),
        leader=trade.relationship.leader,
        dedupe_key="archived-smoke",
        source="data_api",
        tx_hash="0x" + "ab" * 32,
        token_id=trade.token_id,
        side="BUY",
        price=Decimal("0.5"),
        shares=Decimal(2),
        usdc=Decimal(1),
        status="fanned_out",
        occurred_at=trade.created_at,
        detected_at=trade.created_at,
        row={},
    )
    rows[OperatorWallet] = OperatorWallet.objects.create(index=0, address="0x" + "0f" * 20)
    rows[DebtRecord] = DebtRecord.objects.create(
        account=trade.account,
        copy_trade_id=trade.id,
        follower_address="0x" + "f0" * 20,
        operator_address="0x" + "0f" * 20,
        amount_usdc=Decimal("1.5"),
        cause=DebtRecord.Cause.ALLOWANCE,
    )
    rows[ArchivedAuditEvent] = ArchivedAuditEvent.objects.create(
        original_id=10**9, code=uuid.uuid4(), created_at=trade.created_at, actor_label="test", action="smoke"
    )
    return rows


def admin_url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED])
def test_every_admin_page_renders_for_a_superuser(
    staff_client: Client,
    one_of_each: dict[type[models.Model], models.Model],
    model: type[models.Model],
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
) -> None:
    assert staff_client.get(admin_url(model, "changelist")).status_code == 200
    add = staff_client.get(admin_url(model, "add"))
    assert add.status_code in (200, 403)  # ledgers refuse additions
    row = one_of_each.get(model) or model._default_manager.first()
    if row is None:
        row = model._default_manager.create(**EXTRA_FIELDS.get(model._meta.label, {}))
    assert staff_client.get(admin_url(model, "change", row.pk)).status_code == 200


def test_the_admin_index_renders(staff_client: Client) -> None:
    assert staff_client.get(reverse("admin:index")).status_code == 200


def test_the_landing_page_renders(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"PolyHunter" in response.content
