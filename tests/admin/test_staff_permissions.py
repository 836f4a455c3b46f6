"""Issue #18, finding 6: staff permissions and audit on every staff action.

The venue-order page and action decrypted a follower's API credentials and asked the venue on a
GET for any staff user, with no model permission; "reconcile now" wrote no audit event; moving a
TradingAccount to another user wrote none either (and the ciphertexts stayed readable: their
associated data bound the row, not the owner).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.keyring import DecryptionError, open_secret
from accounts.models import TradingAccount, User
from copytrading.models import CopyTrade
from polyhunter.models import AuditEvent
from tests.admin.test_copytrade_admin import CHANGELIST
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_finding_6_staff_without_the_permission_cannot_make_the_platform_ask_the_venue(
    viewer_client: Client,
    speed_unknown: CopyTrade,
) -> None:
    """Failed before the fix: any staff user's GET decrypted the credentials and asked the venue."""
    url = reverse("admin:copytrade_venue_order", args=[speed_unknown.pk])
    assert viewer_client.get(url).status_code == 403
    action = {"action": "show_venue_order", "_selected_action": [str(speed_unknown.pk)], "index": "0"}
    assert viewer_client.post(CHANGELIST, action).status_code != 302  # not offered: no redirect to it
    assert not AuditEvent.objects.filter(action="copytrade.show_venue_order").exists()


def test_finding_6_showing_a_venue_order_is_audited(staff_client: Client, speed_unknown: CopyTrade) -> None:
    """Failed before the fix: nothing recorded who looked at a follower's order with its credentials."""
    page = staff_client.get(reverse("admin:copytrade_venue_order", args=[speed_unknown.pk])).content.decode()
    assert 'data-kind="not_found"' in page
    event = AuditEvent.objects.get(action="copytrade.show_venue_order")
    assert (event.actor_label, event.target_id, event.after) == ("root", str(speed_unknown.pk), {"answer": "not_found"})


def test_finding_6_reconcile_now_is_audited(staff_client: Client, speed_unknown: CopyTrade) -> None:
    """Failed before the fix: "reconcile now" (which may re-send signed bytes) left no trace."""
    staff_client.post(
        CHANGELIST, {"action": "reconcile_now", "_selected_action": [str(speed_unknown.pk)], "index": "0"}
    )
    staff_client.post(reverse("admin:copytrade_reconcile", args=[speed_unknown.pk]))
    events = AuditEvent.objects.filter(action="copytrade.reconcile_now", target_id=str(speed_unknown.pk))
    assert [event.actor_label for event in events] == ["root", "root"]


def test_finding_6_staff_cannot_move_an_account_to_another_user(
    staff_client: Client,
    speed_unknown: CopyTrade,
) -> None:
    """Failed before the fix: the change form moved the account (and its keys) silently."""
    account = speed_unknown.account
    other = make_user("mallory")
    url = reverse("admin:accounts_tradingaccount_change", args=[account.pk])
    staff_client.post(url, {"user": str(other.pk), "label": "Main", "paper_balance_usdc": "1000"})
    account.refresh_from_db()
    assert account.user_id != other.id
    assert open_secret(account=account, field="private_key_ciphertext")


def test_finding_6_staff_edits_of_an_account_are_audited(staff_client: Client, speed_unknown: CopyTrade) -> None:
    account = speed_unknown.account
    url = reverse("admin:accounts_tradingaccount_change", args=[account.pk])
    assert staff_client.post(url, {"label": "Renamed", "paper_balance_usdc": "2500"}).status_code == 302
    event = AuditEvent.objects.get(action="tradingaccount.change")
    assert event.after == {"label": "Renamed", "paper_balance_usdc": "2500"}


def test_finding_6_an_account_moved_to_another_user_in_the_database_cannot_open_its_keys(
    speed_unknown: CopyTrade,
) -> None:
    """Failed before the fix: the associated data bound the row, not its owner."""
    account = speed_unknown.account
    TradingAccount.objects.filter(pk=account.pk).update(user=make_user("thief"))
    moved = TradingAccount.objects.get(pk=account.pk)
    with pytest.raises(DecryptionError):
        open_secret(account=moved, field="private_key_ciphertext")
    TradingAccount.objects.filter(pk=account.pk).update(user=User.objects.get(pk=account.user_id))
    assert open_secret(account=TradingAccount.objects.get(pk=account.pk), field="private_key_ciphertext")
