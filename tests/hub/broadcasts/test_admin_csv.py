"""The admin CSV broadcast: upload, map columns, validation report, start, progress bar."""

from __future__ import annotations

import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hub.broadcasts.models import Broadcast, BroadcastRecipient
from hub.broadcasts.tasks import release_broadcasts
from hub.messaging.models import Message
from hub.providers.models import SandboxOutboxEntry


def csv_file(rows: list[str], name: str = "audience.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join(rows) + "\n").encode(), content_type="text/csv")


def upload(admin_client, template, rows, **fields):
    data = {"name": "Spring", "template": template.pk, "routing": "first", "channels": ["sms"], **fields}
    response = admin_client.post(
        reverse("admin:broadcasts_broadcast_upload"), {**data, "csv_file": csv_file(rows)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Broadcast.objects.get(), response["Location"]


ROWS = int(os.environ.get("TEST_CSV_ROWS", "10000"))
MAPPING = {"col_0": "phone", "col_1": "data", "col_2": "data", "col_3": "ignore"}
HEADER = "mobile,first_name,order_number,notes"


@pytest.mark.django_db(transaction=True)
class TestCsvFlow:
    def test_validation_report_before_anything_is_sent(self, admin_client, live_template):
        rows = [
            HEADER,
            "+447900000001,Ada,A-1,",
            "not-a-phone,Bob,A-2,",
            "+447900000001,Ada again,A-3,",
            ",Nobody,A-4,",
            "+447900000002,Alan,A-5,vip",
        ]
        _, location = upload(admin_client, live_template, rows)
        page = admin_client.get(location)
        assert page.status_code == 200
        assert b"mobile" in page.content and b"first_name" in page.content
        response = admin_client.post(location, MAPPING)
        assert response.status_code == 302
        report_page = admin_client.get(response["Location"])
        assert report_page.status_code == 200
        assert re.search(rb'id="report-valid">2<', report_page.content)
        assert re.search(rb'id="report-skipped">3<', report_page.content)
        report = Broadcast.objects.get().validation_report
        assert report["reasons"] == {
            "invalid phone in 'mobile'": 1,
            "duplicate": 1,
            "no external id, email or phone": 1,
        }
        assert [e["row"] for e in report["examples"]] == [2, 3, 4]
        assert not Message.objects.exists()  # nothing sent before Start
        # Each row saved exactly once, whatever the number of validations.
        admin_client.post(location, MAPPING)
        assert BroadcastRecipient.objects.count() == 5

    def test_mapping_without_recipient_column_is_a_form_error(self, admin_client, live_template):
        _, location = upload(admin_client, live_template, [HEADER, "+447900000001,Ada,A-1,"])
        response = admin_client.post(
            location, {"col_0": "data", "col_1": "data", "col_2": "data", "col_3": "ignore"}
        )
        assert response.status_code == 200
        assert b"at least one column" in response.content

    def test_not_a_csv_is_a_form_error(self, admin_client, live_template):
        response = admin_client.post(
            reverse("admin:broadcasts_broadcast_upload"),
            {
                "name": "x",
                "template": live_template.pk,
                "routing": "first",
                "csv_file": SimpleUploadedFile("a.csv", b"\xff\xfe\x00bad", content_type="text/csv"),
            },
        )
        assert response.status_code == 200 and b"not UTF-8" in response.content
        assert not Broadcast.objects.exists()

    def test_marketer_without_permission_cannot_upload(self, client, live_template, django_user_model):
        user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
        client.force_login(user)
        assert client.get(reverse("admin:broadcasts_broadcast_upload")).status_code == 403


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_10000_row_csv_progress_bar_moves_to_done(admin_client, live_template, settings):
    """Not done unless: a 10,000-row CSV uploaded in admin shows its progress bar move to done.
    Each beat run releases one batch of 1,000; the page's progress URL is polled in between."""
    settings.HUB_BROADCAST_RELEASE_SECONDS = 0  # one batch per run, so the bar visibly moves
    settings.HUB_BROADCAST_RELEASE_FOLLOW_UP = False  # and the next waits for (this test's) beat
    rows = [HEADER] + [f"+4479{n:08d},Name{n},A-{n}," for n in range(1, ROWS + 1)]
    broadcast, location = upload(admin_client, live_template, rows)
    report_url = admin_client.post(location, MAPPING)["Location"]
    assert re.search(rb'id="report-valid">%d<' % ROWS, admin_client.get(report_url).content)

    started = admin_client.post(report_url)
    assert started.status_code == 302
    change_page = admin_client.get(started["Location"])
    progress_url = reverse("admin:broadcasts_broadcast_progress", args=[broadcast.id])
    assert change_page.status_code == 200
    assert progress_url.encode() in change_page.content and b"<progress" in change_page.content

    seen: list[int] = []
    for _ in range(30):
        progress = admin_client.get(progress_url).json()
        seen.append(progress["percent"])
        if progress["done"]:
            break
        release_broadcasts()  # what beat does every few seconds
    assert progress["done"] is True and progress["status"] == "completed"
    assert seen[-1] == 100 and seen[0] < 100
    assert seen == sorted(seen) and len(set(seen)) >= 5, seen
    assert (progress["total"], progress["delivered"], progress["skipped"]) == (ROWS, ROWS, 0)
    assert SandboxOutboxEntry.objects.count() == ROWS
    assert admin_client.get(reverse("admin:broadcasts_broadcast_changelist")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "said"),
    [
        ([HEADER, "+447900000001,Ada,A-1,a\x00b"], "NUL character"),  # was a 500 (PostgreSQL)
        ([HEADER, "+447900000001,Ada,A-1," + "x" * 200_000], "cannot be read"),  # csv field limit
    ],
)
def test_a_hostile_upload_is_a_form_error_and_keeps_nothing(admin_client, live_template, rows, said):
    data = {"name": "Spring", "template": live_template.pk, "routing": "first", "channels": ["sms"]}
    response = admin_client.post(
        reverse("admin:broadcasts_broadcast_upload"), {**data, "csv_file": csv_file(rows)}
    )
    assert response.status_code == 200 and said in response.content.decode()
    assert not Broadcast.objects.exists()


@pytest.mark.django_db
def test_the_list_keeps_to_five_columns_to_fit_1280_px(admin_client, live_template) -> None:
    """The list ran past 1,280 px (its date cut off, seen on the screenshots): status and
    audience kind are filters, and the progress says the status in words."""
    upload(admin_client, live_template, ["external_id", "ada"])
    page = admin_client.get(reverse("admin:broadcasts_broadcast_changelist")).content.decode()
    columns = re.findall(r'<th scope="col"\s+class="[^"]*column-(\w+)', page)
    assert columns == ["name", "template", "total", "progress_bar", "created_at"], columns
