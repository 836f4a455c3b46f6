"""Staff holds apart from the owner's choice (issue #18): new fields, and the holds staff made
before they existed, read back from the audit log."""

from django.db import migrations, models

STATUS_ACTIONS = ["follow.create", "follow.restart", "follow.active", "follow.paused", "follow.stopped"]


def _by_owner(event, follow):
    # The follower's own pages write "<action> by owner" (create/restart carry no reason);
    # staff acted through the admin or the pause/resume commands.
    if event.actor_id != follow.account.user_id:
        return False
    return event.action in ("follow.create", "follow.restart") or event.reason.endswith("by owner")


def staff_holds_from_the_audit_log(apps, schema_editor):
    """Before holds existed staff and owner shared ``status``: a pause or stop whose last audited
    change was made by staff becomes a staff hold, and ``status`` goes back to the owner's own
    last choice. A row with no audited change is left as its owner's choice."""
    CopyRelationship = apps.get_model("copytrading", "CopyRelationship")
    trails = [apps.get_model("polyhunter", "AuditEvent"), apps.get_model("polyhunter", "ArchivedAuditEvent")]
    for follow in CopyRelationship.objects.exclude(status="active").select_related("account").iterator():
        where = {"target_type": "copytrading.copyrelationship", "target_id": str(follow.pk)}
        # The live trail and the archived one (rows past retention): one id sequence, newest first.
        events = sorted(
            (event for trail in trails for event in trail.objects.filter(action__in=STATUS_ACTIONS, **where)),
            key=lambda event: (event.created_at, getattr(event, "original_id", event.id)),
            reverse=True,
        )
        if not events or _by_owner(events[0], follow):
            continue
        owner = next((event for event in events[1:] if _by_owner(event, follow)), None)
        follow.staff_hold = follow.status
        follow.staff_hold_reason = follow.status_reason
        follow.staff_hold_at = follow.status_changed_at or events[0].created_at
        follow.status = (owner.after or {}).get("status", "active") if owner else "active"
        follow.status_reason = (owner.after or {}).get("status_reason", "") if owner else ""
        follow.status_changed_at = owner.created_at if owner else None
        follow.save(
            update_fields=[
                "staff_hold",
                "staff_hold_reason",
                "staff_hold_at",
                "status",
                "status_reason",
                "status_changed_at",
            ]
        )


def holds_back_into_status(apps, schema_editor):
    CopyRelationship = apps.get_model("copytrading", "CopyRelationship")
    for follow in CopyRelationship.objects.exclude(staff_hold="").iterator():
        if follow.status != "stopped":
            follow.status = follow.staff_hold
        follow.status_reason = follow.staff_hold_reason
        follow.save(update_fields=["status", "status_reason"])


HOLDS = [("", "None"), ("paused", "Paused by staff"), ("stopped", "Stopped by staff")]
HOLD_HELP = "Set and lifted by staff only (pause/resume/stop actions); the owner cannot lift it."


class Migration(migrations.Migration):
    dependencies = [("copytrading", "0004_archive_tables"), ("polyhunter", "0002_archived_audit_events")]
    operations = [
        migrations.AddField(
            "copyrelationship",
            "staff_hold",
            models.CharField(blank=True, choices=HOLDS, default="", help_text=HOLD_HELP, max_length=8),
        ),
        migrations.AddField("copyrelationship", "staff_hold_at", models.DateTimeField(blank=True, null=True)),
        migrations.AddField("copyrelationship", "staff_hold_reason", models.CharField(blank=True, max_length=200)),
        migrations.RunPython(staff_holds_from_the_audit_log, holds_back_into_status),
    ]
