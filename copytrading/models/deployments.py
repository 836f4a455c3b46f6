from __future__ import annotations

import uuid

from django.db import models


class Deployment(models.Model):
    """A set of worker processes and the queues they consume (RUN_MODE routing).

    The ``shared`` deployment serves every relationship without a dedicated deployment; a
    ``user_dedicated`` deployment (its workers run with DEPLOYMENT_ID=<key>) serves only the
    relationships routed to it. Every CopyTrade records the deployment that created it.
    """

    class Kind(models.TextChoices):
        SHARED_BACKEND = "shared_backend", "Shared backend"
        USER_DEDICATED = "user_dedicated", "User dedicated"

    SHARED_KEY = "shared"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.SlugField(max_length=63, unique=True, help_text="DEPLOYMENT_ID of its workers.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life from its workers.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="shared_backend", key="shared")
                | models.Q(kind="user_dedicated") & ~models.Q(key="shared"),
                name="deployment_shared_key",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    LANES = ("fanout", "exits", "copies", "reconcile", "settle")

    def queue_name(self, lane: str) -> str:
        """Dramatiq queue of one lane of this deployment."""
        return f"{self.key}.{lane}"

    @property
    def queue_names(self) -> list[str]:
        return [self.queue_name(lane) for lane in self.LANES]
