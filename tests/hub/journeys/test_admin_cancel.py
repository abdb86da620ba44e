"""Cancel journey runs in admin (issue 17 point 5): the same service as the API's cancel, for
the roles that may, with a timeline entry and an audit record naming who did it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from hub.journeys.models import JourneyRun, RunStatus
from tests.factories import make_staff_user
from tests.hub.journeys.conftest import definition, live_journey, send_event

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:journeys_journeyrun_changelist"


@pytest.fixture
def waiting(shipped, contact):
    steps = [
        {"id": "pause", "type": "wait", "duration": "2d"},
        {"id": "hello", "type": "send", "template": "order.shipped", "channels": ["sms"]},
    ]
    live_journey(definition(steps=steps))
    send_event("signed.up")
    run = JourneyRun.objects.get()
    assert run.status == RunStatus.WAITING
    return run


@pytest.mark.parametrize("role", ["Support", "Marketer"])
def test_a_run_is_cancelled_from_admin_and_the_record_names_who(client, waiting, role):
    user = make_staff_user(role)
    client.force_login(user)
    response = client.post(
        reverse(CHANGELIST), {"action": "cancel_selected", "_selected_action": [str(waiting.pk)]}, follow=True
    )
    assert response.status_code == 200 and "Cancelled 1 run(s)." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.CANCELLED
    assert AuditRecord.objects.filter(
        actor_type="user", actor_id=str(user.pk), object_id=str(waiting.pk)
    ).exists()
    # Again: it has ended, so it is left as it is and the page says so.
    again = client.post(
        reverse(CHANGELIST), {"action": "cancel_selected", "_selected_action": [str(waiting.pk)]}, follow=True
    )
    assert "had already ended" in again.content.decode()


def test_compliance_may_see_runs_but_not_cancel_them(client, waiting):
    client.force_login(make_staff_user("Compliance"))
    response = client.post(
        reverse(CHANGELIST), {"action": "cancel_selected", "_selected_action": [str(waiting.pk)]}
    )
    assert response.status_code in (200, 302, 403)
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.WAITING
