"""RUN_MODE routing: which Deployment this process is, and its heartbeat."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from copytrading.models import Deployment
from polyhunter.lib.rows import select_one


def deployment_current() -> Deployment:
    """The Deployment this process serves, per RUN_MODE / DEPLOYMENT_ID.

    The shared deployment is created on demand; a dedicated one must have been created by
    staff first (a worker must never invent a routing target).
    """
    # Read at the start of every message: a plain SELECT on the unique key (polyhunter.lib.rows),
    # the ORM only to create the shared deployment the first time.
    if settings.RUN_MODE == Deployment.Kind.SHARED_BACKEND:
        deployment = select_one(Deployment, key=Deployment.SHARED_KEY)
        if deployment is None:
            deployment, _ = Deployment.objects.get_or_create(
                key=Deployment.SHARED_KEY,
                defaults={"kind": Deployment.Kind.SHARED_BACKEND, "description": "Shared backend workers"},
            )
        return deployment
    dedicated = select_one(Deployment, key=settings.DEPLOYMENT_ID, kind=Deployment.Kind.USER_DEDICATED)
    if dedicated is None:
        raise ImproperlyConfigured(
            f"DEPLOYMENT_ID={settings.DEPLOYMENT_ID!r}: no user_dedicated Deployment with that key; "
            "create it in the admin"
        )
    return dedicated


def deployment_heartbeat(*, key: str) -> bool:
    """Record a sign of life from the workers of one deployment; False if it does not exist."""
    return Deployment.objects.filter(key=key).update(heartbeat_at=timezone.now()) == 1
