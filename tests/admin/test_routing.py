from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from copytrading.follows import FollowSettings, follow_create
from copytrading.models import CopyRelationship, Deployment
from copytrading.routing import RoutingError, deployment_change_problem, user_route
from tests.factories import make_relationship, random_address, shared_deployment
from tests.pages.conftest import Owned

pytestmark = pytest.mark.django_db


def test_routing_moves_every_follow_of_the_user_and_nobody_elses(owned: Owned) -> None:
    second = make_relationship(owned.account)
    stranger = make_relationship()
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    assert user_route(user=owned.user, deployment=vip, actor="test", reason="dedicated") == 2
    assert set(CopyRelationship.objects.filter(deployment=vip)) == {owned.follow, second}
    stranger.refresh_from_db()
    assert stranger.deployment is None


def test_routing_to_the_shared_row_means_the_shared_backend(owned: Owned) -> None:
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    user_route(user=owned.user, deployment=vip, actor="test", reason="dedicated")
    assert user_route(user=owned.user, deployment=shared_deployment(), actor="test", reason="back") == 1
    owned.follow.refresh_from_db()
    assert owned.follow.deployment is None


def test_routing_to_an_inactive_deployment_is_refused(owned: Owned) -> None:
    idle = Deployment.objects.create(key="idle", kind=Deployment.Kind.USER_DEDICATED, is_active=False)
    with pytest.raises(RoutingError, match="not active"):
        user_route(user=owned.user, deployment=idle, actor="test", reason="try")


def test_routing_needs_a_reason(owned: Owned) -> None:
    with pytest.raises(RoutingError, match="reason"):
        user_route(user=owned.user, deployment=None, actor="test", reason=" ")


def test_a_new_follow_of_a_routed_user_goes_to_the_same_deployment(owned: Owned) -> None:
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    user_route(user=owned.user, deployment=vip, actor="test", reason="dedicated")
    follow = follow_create(
        account=owned.account, leader_address=random_address(), settings=FollowSettings(), actor=owned.user
    )
    assert follow.deployment == vip


def test_a_deployment_with_routed_follows_cannot_be_deactivated(owned: Owned) -> None:
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    user_route(user=owned.user, deployment=vip, actor="test", reason="dedicated")
    problem = deployment_change_problem(deployment=vip, is_active=False, kind=vip.kind)
    assert problem is not None
    assert "1 follow(s) are routed to vip" in problem
    user_route(user=owned.user, deployment=None, actor="test", reason="back to shared")
    assert deployment_change_problem(deployment=vip, is_active=False, kind=vip.kind) is None


def test_the_shared_deployment_cannot_be_deactivated() -> None:
    shared = shared_deployment()
    assert deployment_change_problem(deployment=shared, is_active=False, kind=shared.kind) is not None
    assert deployment_change_problem(deployment=shared, is_active=True, kind=shared.kind) is None


def test_the_admin_refuses_to_deactivate_a_deployment_that_serves_follows(owned: Owned, staff_client: Client) -> None:
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    user_route(user=owned.user, deployment=vip, actor="test", reason="dedicated")
    url = reverse("admin:copytrading_deployment_change", args=[vip.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert 'name="key"' not in page.content.decode()
    answer = staff_client.post(url, {"kind": vip.kind, "description": "", "key": "renamed"})
    assert answer.status_code == 200
    assert "move their users to another deployment first" in answer.content.decode()
    vip.refresh_from_db()
    assert vip.is_active
    assert vip.key == "vip"
