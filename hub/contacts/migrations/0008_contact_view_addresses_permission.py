"""Issue 20: ``contacts.view_contact_addresses`` (addresses in full on the contact's page)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0007_contact_search_indexes"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="contact",
            options={
                "ordering": ("external_id",),
                "permissions": [
                    ("erase_contact", "Can erase a contact (right to erasure)"),
                    ("view_contact_addresses", "Can see contacts' email addresses and phone numbers in full"),
                ],
            },
        ),
    ]
