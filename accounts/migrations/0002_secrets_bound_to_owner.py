from django.db import migrations, models

HELP = (
    "Keyring format of the stored ciphertexts: 2 binds the owner; 1 (older rows) is re-sealed by "
    "rotate_encryption_keys."
)


class Migration(migrations.Migration):
    """Rows sealed so far are format 1 (associated data without the owner); new ones are 2.

    No data is re-encrypted here (a migration must not need the keys): format-1 rows keep
    opening until ``manage.py rotate_encryption_keys`` re-seals them bound to their owner.
    """

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='tradingaccount',
            name='secrets_format',
            field=models.PositiveSmallIntegerField(default=1, editable=False, help_text=HELP),
        ),
        migrations.AlterField(
            model_name='tradingaccount',
            name='secrets_format',
            field=models.PositiveSmallIntegerField(default=2, editable=False, help_text=HELP),
        ),
    ]
