"""Issue #18, finding 2: follows per user were unbounded, so one sign-up could make the platform
poll any number of leaders on the shared Data API budget. Staff set a cap (guardrail settings,
audited like the other limits); a follow stopped by its owner or by staff does not count."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from copytrading.follows import FollowError, FollowSettings, follow_create
from copytrading.models import CopyRelationship
from execution.models import GuardrailSettings
from polyhunter.models import AuditEvent
from tests.factories import make_account, random_address
from tests.pages.conftest import Owned
from tests.pages.test_follows import form

pytestmark = pytest.mark.django_db


def cap_follows(n: int) -> None:
    row = GuardrailSettings.current()
    row.max_follows_per_user = n
    row.save()


def test_finding_2_a_user_cannot_follow_more_leaders_than_staff_allow(owned: Owned) -> None:
    """Failed before the fix: any number of follows was accepted."""
    cap_follows(3)  # owned already has one
    second_account = make_account(owned.user, label="Second")
    follow_create(account=owned.account, leader_address=random_address(), settings=FollowSettings(), actor="test")
    follow_create(account=second_account, leader_address=random_address(), settings=FollowSettings(), actor="test")
    with pytest.raises(FollowError, match="at most 3 leaders"):
        follow_create(account=second_account, leader_address=random_address(), settings=FollowSettings(), actor="test")
    assert CopyRelationship.objects.filter(account__user=owned.user).count() == 3


def test_a_stopped_follow_frees_a_place_and_restarting_it_takes_one_again(owned: Owned) -> None:
    cap_follows(1)
    owned.follow.status = CopyRelationship.Status.STOPPED
    owned.follow.save()
    other = follow_create(account=owned.account, leader_address=random_address(), settings=FollowSettings(), actor="t")
    with pytest.raises(FollowError, match="at most 1 leader"):
        follow_create(
            account=owned.account, leader_address=owned.follow.leader.address, settings=FollowSettings(), actor="t"
        )
    assert other.status == CopyRelationship.Status.ACTIVE


def test_the_follow_form_says_why_a_follow_over_the_cap_is_refused(owner_client: Client, owned: Owned) -> None:
    cap_follows(1)
    response = owner_client.post(
        reverse("follow_new"), form(leader_address=random_address(), account=str(owned.account.code))
    )
    assert response.status_code == 200
    assert "You may follow at most 1 leader" in response.content.decode()


def test_staff_change_the_cap_in_the_guardrail_settings_and_it_is_audited(owned: Owned) -> None:
    from tests.admin.test_model_admins import guardrail_form

    staff = Client()
    staff.force_login(owned.user.__class__.objects.create_superuser("root", "root@example.com", "pw-root"))
    row = GuardrailSettings.current()
    url = reverse("admin:execution_guardrailsettings_change", args=[row.pk])
    assert staff.post(url, guardrail_form(max_follows_per_user="4")).status_code == 302
    event = AuditEvent.objects.get(action="guardrailsettings.change")
    assert (event.actor_label, event.before, event.after) == (
        "root",
        {"max_follows_per_user": row.max_follows_per_user},
        {"max_follows_per_user": 4},
    )
