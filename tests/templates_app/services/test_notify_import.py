"""import_templates takes GOV.UK Notify's template JSON as it is: each template keeps its
Notify id, arrives as a draft needing approval, and renders Notify's placeholders."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from templates_app.models import Template, VersionStatus
from templates_app.rendering.core import variant_render
from templates_app.services import ImportFailed, templates_import

# The shape of Notify's GET /v2/templates answer.
NOTIFY_TEMPLATES = {
    "templates": [
        {
            "id": "f33517ff-2a88-4f6e-b855-c550268ce08a",
            "name": "Appointment reminder",
            "type": "sms",
            "created_at": "2024-01-01T00:00:00.000000Z",
            "updated_at": None,
            "created_by": "someone@example.gov.uk",
            "version": 3,
            "body": "Hi ((First name)), see you on ((date)).((late??Please arrive early.))",
            "subject": None,
        },
        {
            "id": "0b4e5b39-64d8-4a0a-9c55-14a1b7d3b5f0",
            "name": "Appointment reminder",
            "type": "email",
            "created_at": "2024-01-01T00:00:00.000000Z",
            "updated_at": None,
            "created_by": "someone@example.gov.uk",
            "version": 1,
            "body": "Dear ((first name)),\n\nYour appointment is on ((date)).",
            "subject": "Your appointment, ((first name))",
        },
    ]
}


@pytest.mark.django_db
def test_notify_templates_import_as_drafts_keeping_their_ids(django_user_model) -> None:
    user = django_user_model.objects.create(username="importer")
    report = templates_import(document=NOTIFY_TEMPLATES, user=user)
    assert sorted(report.created_templates) == ["appointment-reminder", "appointment-reminder-0b4e5b39"]
    sms = Template.objects.get(uuid="f33517ff-2a88-4f6e-b855-c550268ce08a")
    version = sms.versions.get()
    assert version.status == VersionStatus.DRAFT
    assert sorted(v.name for v in version.variables.all()) == ["date", "first_name", "late"]
    rendered = variant_render(version.variants.get(), {"first_name": "Ada", "date": "1 May", "late": "yes"})
    assert rendered.text == "Hi Ada, see you on 1 May.Please arrive early."
    email = Template.objects.get(uuid="0b4e5b39-64d8-4a0a-9c55-14a1b7d3b5f0").versions.get().variants.get()
    assert email.html == "<p>Dear ((first name)),</p><p>Your appointment is on ((date)).</p>"
    out = variant_render(email, {"first_name": "Ada", "date": "1 May"}, layout={})
    assert out.subject == "Your appointment, Ada"
    assert "Dear Ada," in out.html
    # Importing the same again changes nothing.
    again = templates_import(document=NOTIFY_TEMPLATES, user=user)
    assert (again.created_templates, again.drafts) == ([], [])


@pytest.mark.django_db
def test_letters_and_taken_ids_are_refused_and_nothing_is_written(django_user_model) -> None:
    user = django_user_model.objects.create(username="importer")
    letter = {"id": "5e3f0f1c-0d5c-4a36-9a43-3a6f3c3d9c11", "name": "Letter", "type": "letter", "body": "x"}
    with pytest.raises(ImportFailed, match="letter"):
        templates_import(document={"templates": [*NOTIFY_TEMPLATES["templates"], letter]}, user=user)
    assert not Template.objects.exists()


@pytest.mark.django_db
def test_the_command_takes_one_notify_template(tmp_path, django_user_model) -> None:
    django_user_model.objects.create(username="importer")
    path = tmp_path / "template.json"
    path.write_text(json.dumps(NOTIFY_TEMPLATES["templates"][0]))
    call_command("import_templates", str(path), "--user", "importer", stdout=StringIO())
    assert Template.objects.get().uuid.hex == "f33517ff2a884f6eb855c550268ce08a"
