"""The baseline rule set of SPEC §2, shipped as data: safe by default on a fresh install.

* suppressions and opt-outs always block (every category and channel);
* marketing needs consent on every channel;
* marketing SMS only 08:00–21:00 in the recipient's time zone, deferred otherwise;
* marketing email must carry a one-click unsubscribe link and a postal address (checked
  when a template version is submitted).

Transactional messages are exempt from the marketing rules by the rules' scope.
"""

from django.db import migrations

# A house number and a street word in a few languages ("1 High Street", "12 rue de la Paix",
# "Hauptstraße 5" is not caught: use the {{ postal_address }} variable there). Editable in admin.
POSTAL_ADDRESS_PATTERN = (
    r"\b\d+[a-z]?,?\s+(?:[\w'.-]+\s+){0,4}?(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr"
    r"|boulevard|blvd|place|pl|square|sq|court|ct|rue|avenida|calle)\b"
)

BASELINE = [
    {
        "key": "suppression",
        "kind": "suppression",
        "description": "A suppressed address (hard bounce, complaint, SMS opt-out, manual, erasure) is never sent to.",
        "version": {"effect": "block", "params": {}},
    },
    {
        "key": "opt_out",
        "kind": "opt_out",
        "description": "A recipient who withdrew consent for a category on a channel gets no more of it there.",
        "version": {"effect": "block", "params": {}},
    },
    {
        "key": "marketing_consent",
        "kind": "consent_required",
        "description": "Marketing needs recorded consent on every channel.",
        "version": {"effect": "block", "category": "marketing", "params": {}},
    },
    {
        "key": "quiet_hours_marketing_sms",
        "kind": "quiet_hours",
        "description": "Marketing SMS only 08:00–21:00 in the recipient's time zone; deferred otherwise.",
        "version": {
            "effect": "defer",
            "category": "marketing",
            "channel": "sms",
            "params": {"start": "08:00", "end": "21:00"},
        },
    },
    {
        "key": "marketing_email_content",
        "kind": "required_content",
        "description": "Marketing email must carry a one-click unsubscribe link and a postal address.",
        "version": {
            "effect": "block",
            "category": "marketing",
            "channel": "email",
            "params": {
                "fields": ["html", "text"],
                "required": [
                    {"label": "one-click unsubscribe link", "any_of": ["unsubscribe_url"]},
                    {
                        "label": "postal address",
                        # The {{ postal_address }} variable, or a written street address.
                        "any_of": ["postal_address"],
                        "patterns": [POSTAL_ADDRESS_PATTERN],
                    },
                ],
            },
        },
    },
]


def create_baseline(apps, schema_editor):
    Rule = apps.get_model("compliance", "Rule")
    RuleVersion = apps.get_model("compliance", "RuleVersion")
    for item in BASELINE:
        rule, created = Rule.objects.get_or_create(
            key=item["key"], defaults={"kind": item["kind"], "description": item["description"]}
        )
        if created:
            RuleVersion.objects.create(rule=rule, number=1, note="baseline", **item["version"])


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]

    operations = [migrations.RunPython(create_baseline, migrations.RunPython.noop)]
