"""A CSV upload's size is enforced while it streams in: reading stops at the limit and the
answer is 413, before the file is held whole in memory or on disk; CSRF is still checked."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from django.test import Client
from django.urls import reverse

from hub.broadcasts import upload_limit
from hub.broadcasts.models import Broadcast

LIMIT = 64 * 1024


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(upload_limit, "CSV_MAX_BYTES", LIMIT)


def _form(template, size: int) -> dict[str, object]:
    body = ("phone,first_name\n" + "+447900000001,Ada\n" * (size // 18 + 1)).encode()[:size]
    return {
        "name": "Big",
        "template": template.pk,
        "routing": "first",
        "csv_file": SimpleUploadedFile("big.csv", body, content_type="text/csv"),
    }


@pytest.mark.django_db
def test_an_upload_over_the_limit_is_413_and_creates_nothing(admin_client, live_template, small_limit):
    response = admin_client.post(
        reverse("admin:broadcasts_broadcast_upload"), _form(live_template, 4 * LIMIT)
    )
    assert response.status_code == 413
    assert b"larger than" in response.content
    assert not Broadcast.objects.exists()


@pytest.mark.django_db
def test_an_upload_under_the_limit_is_accepted(admin_client, live_template, small_limit):
    response = admin_client.post(
        reverse("admin:broadcasts_broadcast_upload"), _form(live_template, LIMIT - 100)
    )
    assert response.status_code == 302, response.content[:500]
    assert Broadcast.objects.count() == 1


def test_the_handler_stops_reading_at_the_limit(small_limit):
    """The parser hands the file over in chunks; the chunk that crosses the limit stops the
    upload and the rest of the body is not read (connection_reset)."""
    handler = upload_limit.CsvSizeLimit()
    chunk = b"x" * 1000
    chunks = LIMIT // len(chunk)
    for index in range(chunks):
        handler.receive_data_chunk(chunk, index * len(chunk))
    with pytest.raises(StopUpload) as stopped:
        handler.receive_data_chunk(chunk, chunks * len(chunk))
    assert stopped.value.connection_reset
    assert handler.exceeded


@pytest.mark.django_db
def test_the_upload_still_needs_its_csrf_token(admin_user, live_template):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(reverse("admin:broadcasts_broadcast_upload"), _form(live_template, 100))
    assert response.status_code == 403
    assert not Broadcast.objects.exists()
