"""Suppressions record which digest key made their address_hash.

Rows from before this migration were digested with a key derived from SECRET_KEY; they are
marked ``legacy``. The hub then refuses to start until HUB_DIGEST_KEYS holds a ``legacy`` key
equal to that old derivation (``legacy:audit-address:<the old SECRET_KEY>``), so no existing
suppression goes unseen; ``manage.py digests_rekey`` moves them to the newest key (see
docs/security/digest-keys.md).
"""

from django.db import migrations, models

LEGACY_KEY_ID = "legacy"


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="suppression",
            name="key_id",
            field=models.CharField(db_index=True, default=LEGACY_KEY_ID, max_length=32),
            preserve_default=False,
        ),
    ]
