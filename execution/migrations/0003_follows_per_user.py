"""Staff cap the follows one user may have (GuardrailSettings.max_follows_per_user), issue #18."""

from django.db import migrations, models

HELP = (
    "Most follows one user may have that are not stopped: each followed leader is polled on the shared "
    "Data API budget (180 requests per 10 s)."
)


class Migration(migrations.Migration):
    dependencies = [("execution", "0002_venuehealth")]
    operations = [
        migrations.AddField("guardrailsettings", "max_follows_per_user", models.PositiveIntegerField(default=20, help_text=HELP)),
    ]
