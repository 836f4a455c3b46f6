"""RUN_MODE routing: which Deployment this process is, and its heartbeat."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from copytrading.models import Deployment


def deployment_current() -> Deployment:
    """The Deployment this process serves, per RUN_MODE / DEPLOYMENT_ID.

    The shared deployment is created on demand; a dedicated one must have been created by
    staff first (a worker must never invent a routing target).
    """
    if settings.RUN_MODE == Deployment.Kind.SHARED_BACKEND:
        deployment, _ = Deployment.objects.get_or_create(
            key=Deployment.SHARED_KEY,
            defaults={"kind": Deployment.Kind.SHARED_BACKEND, "description": "Shared backend workers"},
        )
        return deployment
    try:
        return Deployment.objects.get(key=settings.DEPLOYMENT_ID, kind=Deployment.Kind.USER_DEDICATED)
    except Deployment.DoesNotExist:
        raise ImproperlyConfigured(
            f"DEPLOYMENT_ID={settings.DEPLOYMENT_ID!r}: no user_dedicated Deployment with that key; "
            "create it in the admin"
        ) from None


def deployment_heartbeat(*, key: str) -> bool:
    """Record a sign of life from the workers of one deployment; False if it does not exist."""
    return Deployment.objects.filter(key=key).update(heartbeat_at=timezone.now()) == 1
