"""Keyring ciphertexts bound to their owner (issue #18): rows sealed so far (accounts and
session keys) are format 1.

No data is re-encrypted here (a migration must not need the keys): format-1 rows keep opening
until ``manage.py rotate_encryption_keys`` re-seals them bound to their owner. New rows are 2.
"""

from django.db import migrations, models

HELP = "Keyring format of the stored ciphertexts: 2 binds the owner; 1 (older rows) is re-sealed by rotate_encryption_keys."


def secrets_format(default):
    return models.PositiveSmallIntegerField(default=default, editable=False, help_text=HELP)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_session_keys")]
    operations = [
        migrations.AddField("tradingaccount", "secrets_format", secrets_format(1)),  # the rows there are
        migrations.AlterField("tradingaccount", "secrets_format", secrets_format(2)),  # rows made from now on
        migrations.AddField("sessionkey", "secrets_format", secrets_format(1)),
        migrations.AlterField("sessionkey", "secrets_format", secrets_format(2)),
    ]
