"""Issue 20: the transactional email Switchboard sends itself to tell authors and reviewers of
a submission or a decision (``templates_app.services.review_mail``). Seeded live: nobody can
review a template before the first review mail exists, so its one version is approved by the
installation itself (no approver) and is visible as such in the approvals list."""

from typing import Any

from django.db import migrations

KEY = "switchboard.review"
HTML = (
    "<p>{{ message }}</p>"
    '<p><a href="{{ link }}">Open it in Switchboard</a></p>'
    "<p>You get this because of your role in Switchboard's template and journey reviews.</p>"
)


def seed(apps: Any, schema_editor: Any) -> None:
    Template = apps.get_model("templates_app", "Template")
    if Template.objects.filter(key=KEY).exists():
        return
    TemplateVersion = apps.get_model("templates_app", "TemplateVersion")
    TemplateVariant = apps.get_model("templates_app", "TemplateVariant")
    TemplateVariable = apps.get_model("templates_app", "TemplateVariable")
    TemplateApproval = apps.get_model("templates_app", "TemplateApproval")
    template = Template.objects.create(
        key=KEY,
        name="Switchboard: review notices",
        description="Sent by Switchboard to its own staff: a version to review, or a decision on yours.",
        category="transactional",
    )
    version = TemplateVersion.objects.create(template=template, number=1, status="approved")
    TemplateVariant.objects.create(
        version=version, channel="email", locale="en", subject="{{ subject }}", html=HTML, text=""
    )
    for name, kind, example in (
        ("subject", "string", "spring.offer v2 is waiting for your review"),
        ("message", "string", "Mara submitted spring.offer v2: “New greeting”."),
        ("link", "url", "https://switchboard.example/admin/"),
    ):
        TemplateVariable.objects.create(version=version, name=name, type=kind, required=True, example=example)
    TemplateApproval.objects.create(
        version=version, approved_by=None, comment="Seeded by migration (issue 20)."
    )
    template.live_version = version
    template.save(update_fields=["live_version"])


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0004_template_uuid")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
