"""RUN_MODE routing by staff: move a user's follows between the shared backend and a dedicated deployment.

Fan-out reads ``CopyRelationship.deployment`` at every leader trade, so a move takes effect from
the next leader trade. Copy trades already created keep the deployment that created them and
finish there (its workers claim only their own rows).
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from copytrading.models import CopyRelationship, Deployment
from polyhunter.audit import Actor, audit_record


class RoutingError(Exception):
    pass


def user_route(*, user: User, deployment: Deployment | None, actor: Actor, reason: str) -> int:
    """Route every follow of ``user`` to ``deployment`` (None or the shared row = shared backend).

    Returns how many follows changed deployment. Refuses an inactive dedicated deployment: its
    workers may not be running, and follows routed there would silently stop copying.
    """
    if not reason.strip():
        raise RoutingError("a reason is required to move a user between deployments")
    if deployment is not None and deployment.kind == Deployment.Kind.SHARED_BACKEND:
        deployment = None
    if deployment is not None and not deployment.is_active:
        raise RoutingError(f"deployment {deployment.key} is not active")
    target = deployment.key if deployment else Deployment.SHARED_KEY
    with transaction.atomic():
        ids = list(
            CopyRelationship.objects.select_for_update(of=("self",))
            .filter(account__user=user)
            .values_list("id", flat=True)
        )
        follows = CopyRelationship.objects.filter(id__in=ids)
        before = {
            str(code): key or Deployment.SHARED_KEY for code, key in follows.values_list("code", "deployment__key")
        }
        moved = follows.exclude(deployment=deployment).update(deployment=deployment)
        audit_record(
            actor=actor,
            action="user.route",
            target=user,
            reason=reason.strip(),
            before={"follows": before},
            after={"deployment": target, "moved": moved},
        )
    return moved


def deployment_change_problem(*, deployment: Deployment, is_active: bool, kind: str) -> str | None:
    """Why staff may not save ``deployment`` with this state, or None.

    Deactivating a deployment (or turning it into another kind) while follows are routed to it
    would stop their copies without a word: its workers claim only their own rows and nothing
    else serves those follows. Staff move the users first (user_route), then deactivate.
    """
    if deployment.pk is None:
        return None
    if deployment.key == Deployment.SHARED_KEY and (not is_active or kind != Deployment.Kind.SHARED_BACKEND):
        return "the shared backend deployment cannot be deactivated or changed into another kind"
    routed = CopyRelationship.objects.filter(deployment=deployment).count()
    if routed and (not is_active or kind != deployment.kind):
        return (
            f"{routed} follow(s) are routed to {deployment.key}: move their users to another "
            "deployment first, or their copies would stop"
        )
    return None
