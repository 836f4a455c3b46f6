from __future__ import annotations

import pytest

from copytrading.follows import FollowSettings, follow_create
from copytrading.models import CopyRelationship, Deployment
from copytrading.routing import RoutingError, user_route
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
