"""Rule settings are edited as fields of their kind, not JSON: each kind's form stores exactly
the shape the engine reads, a wrong value is an error on its own field and saves nothing, and
people who only read a rule see its settings in words."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from hub.compliance.models import Rule
from hub.compliance.rules import rules_load
from hub.viewer_zone import COOKIE
from tests.factories import staff_user
from tests.hub.compliance.test_admin import login, rule_form
from tests.pages import raw_structures

ADD = "/admin/compliance/rule/add/"


def add_form(kind: str, effect: str, **values: Any) -> dict[str, Any]:
    form: dict[str, Any] = rule_form(
        key=f"new_{kind}", kind=kind, category="marketing", channel="", effect=effect
    )
    for name in ("quiet_start", "quiet_end"):
        del form[name]
    form.update(values)
    return form


def field_errors(response: Any) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["adminform"].form.errors.items()}


@pytest.fixture
def officer(db: None) -> Client:
    return login(staff_user("officer", "Compliance"))


@pytest.mark.django_db
class TestEachKindStoresWhatTheEngineReads:
    def test_quiet_hours_from_time_pickers(self, officer: Client) -> None:
        response = officer.post(ADD, add_form("quiet_hours", "defer", quiet_start="22:00", quiet_end="06:30"))
        assert response.status_code == 302, field_errors(response)
        version = Rule.objects.get(key="new_quiet_hours").versions.get()
        assert version.params == {"start": "22:00", "end": "06:30"}
        [spec] = [s for s in rules_load() if s.key == "new_quiet_hours"]
        assert spec.window == (22 * 60, 6 * 60 + 30)

    def test_frequency_cap_from_a_count_and_a_period(self, officer: Client) -> None:
        form = add_form("frequency_cap", "block", cap_limit="3", cap_period="7", cap_unit="days")
        assert officer.post(ADD, form).status_code == 302
        version = Rule.objects.get(key="new_frequency_cap").versions.get()
        assert version.params == {"limit": 3, "window_hours": 168}
        [spec] = [s for s in rules_load() if s.key == "new_frequency_cap"]
        assert (spec.limit, spec.window_seconds) == (3, 7 * 24 * 3600)

    def test_blackout_periods_typed_in_the_viewers_zone_are_stored_in_utc(self, officer: Client) -> None:
        officer.cookies[COOKIE] = "Europe/Berlin"
        form = add_form(
            "blackout",
            "defer",
            blackout_start_0="2026-12-24T00:00",
            blackout_end_0="2026-12-27T00:00",
            blackout_start_1="",
            blackout_end_1="",
        )
        response = officer.post(ADD, form)
        assert response.status_code == 302, field_errors(response)
        version = Rule.objects.get(key="new_blackout").versions.get()
        assert version.params == {
            "periods": [{"start": "2026-12-23T23:00:00+00:00", "end": "2026-12-26T23:00:00+00:00"}]
        }
        page = officer.get(f"/admin/compliance/rule/{version.rule_id}/change/").content.decode()
        assert 'type="datetime-local"' in page and 'value="2026-12-24T00:00"' in page  # shown as typed

    def test_required_content_from_labelled_items(self, officer: Client) -> None:
        form = add_form(
            "required_content",
            "block",
            required_label_0="postal address",
            required_any_of_0="postal_address\nPO Box",
            required_patterns_0=r"\d+ \w+ street",
            required_fields=["html", "text"],
        )
        response = officer.post(ADD, form)
        assert response.status_code == 302, field_errors(response)
        version = Rule.objects.get(key="new_required_content").versions.get()
        assert version.params == {
            "required": [
                {
                    "label": "postal address",
                    "any_of": ["postal_address", "PO Box"],
                    "patterns": [r"\d+ \w+ street"],
                }
            ],
            "fields": ["html", "text"],
        }

    def test_saving_the_baseline_rules_unchanged_makes_no_new_version(self, officer: Client) -> None:
        """The form reads every stored shape back exactly: posting a rule's page as shown changes nothing."""
        for key in ("quiet_hours_marketing_sms", "marketing_email_content", "marketing_consent"):
            rule = Rule.objects.get(key=key)
            url = f"/admin/compliance/rule/{rule.pk}/change/"
            form = officer.get(url).context["adminform"].form
            data: dict[str, Any] = {
                "versions-TOTAL_FORMS": "0",
                "versions-INITIAL_FORMS": "0",
                "description": rule.description,
            }
            for name, field in form.fields.items():
                if field.disabled:
                    continue
                value = form[name].value()
                if isinstance(value, bool):
                    if value:
                        data[name] = "on"
                elif value is not None:
                    data[name] = value if isinstance(value, list) else field.widget.format_value(value) or ""
            response = officer.post(url, data)
            assert response.status_code == 302, (key, field_errors(response))
            assert rule.versions.count() == 1, key


@pytest.mark.django_db
class TestBadSettingsAreFieldErrors:
    @pytest.mark.parametrize(
        ("kind", "effect", "values", "field", "words"),
        [
            (
                "quiet_hours",
                "defer",
                {"quiet_start": "25:00", "quiet_end": "21:00"},
                "quiet_start",
                "time of day",
            ),
            ("quiet_hours", "defer", {"quiet_start": "08:00", "quiet_end": ""}, "quiet_end", "required"),
            (
                "quiet_hours",
                "defer",
                {"quiet_start": "08:00", "quiet_end": "08:00"},
                "quiet_end",
                "must differ",
            ),
            (
                "frequency_cap",
                "block",
                {"cap_limit": "-1", "cap_period": "7", "cap_unit": "days"},
                "cap_limit",
                "greater than or equal to 1",
            ),
            (
                "frequency_cap",
                "block",
                {"cap_limit": "3", "cap_period": "0", "cap_unit": "days"},
                "cap_period",
                "greater than or equal to 1",
            ),
            (
                "frequency_cap",
                "block",
                {"cap_limit": "3", "cap_period": "2", "cap_unit": "weeks"},
                "cap_unit",
                "valid choice",
            ),
            ("country_allow", "block", {}, "allowed_countries", "at least one country"),
            ("country_allow", "block", {"allowed_countries": ["XX"]}, "allowed_countries", "valid choice"),
            (
                "blackout",
                "defer",
                {"blackout_start_0": "2026-12-24T00:00", "blackout_end_0": "2026-12-23T00:00"},
                "blackout_end_0",
                "end after it starts",
            ),
            (
                "blackout",
                "defer",
                {"blackout_start_0": "2026-12-24T00:00"},
                "blackout_end_0",
                "both a start and an end",
            ),
            (
                "blackout",
                "defer",
                {"blackout_start_0": "Christmas", "blackout_end_0": "2026-12-27T00:00"},
                "blackout_start_0",
                "date and time",
            ),
            (
                "required_content",
                "block",
                {"required_label_0": "address", "required_patterns_0": "([a-z", "required_fields": ["html"]},
                "required_patterns_0",
                "regular expression",
            ),
            (
                "required_content",
                "block",
                {"required_label_0": "address", "required_fields": ["html"]},
                "required_any_of_0",
                "at least one text",
            ),
            (
                "required_content",
                "block",
                {"required_label_0": "address", "required_any_of_0": "x"},
                "required_fields",
                "part of the content",
            ),
            (
                "quiet_hours",
                "block",
                {"quiet_start": "08:00", "quiet_end": "21:00"},
                "effect",
                "can only defer",
            ),
        ],
    )
    def test_error_on_the_field_and_nothing_saved(
        self, officer: Client, kind: str, effect: str, values: dict[str, Any], field: str, words: str
    ) -> None:
        response = officer.post(ADD, add_form(kind, effect, **values))
        assert response.status_code == 200
        errors = field_errors(response)
        assert field in errors, errors
        assert words in " ".join(errors[field]), errors
        assert not Rule.objects.filter(key=f"new_{kind}").exists()

    def test_a_bad_edit_on_the_change_page_keeps_what_was_typed(self, officer: Client) -> None:
        rule = Rule.objects.get(key="quiet_hours_marketing_sms")
        response = officer.post(
            f"/admin/compliance/rule/{rule.pk}/change/", rule_form(quiet_start="07:15", quiet_end="07:15")
        )
        assert response.status_code == 200
        assert "must differ" in " ".join(field_errors(response)["quiet_end"])
        assert 'value="07:15"' in response.content.decode()
        assert rule.versions.count() == 1


@pytest.mark.django_db
class TestSettingsReadInWords:
    def test_the_change_page_shows_time_pickers_and_no_json(self, officer: Client) -> None:
        rule = Rule.objects.get(key="quiet_hours_marketing_sms")
        page = html.unescape(officer.get(f"/admin/compliance/rule/{rule.pk}/change/").content.decode())
        assert 'type="time"' in page and 'name="quiet_start"' in page and 'value="08:00"' in page
        assert "recipient's local time" in page  # the version history says it in words
        assert raw_structures(page) == []
        assert 'name="params"' not in page

    def test_required_content_history_in_words(self, officer: Client) -> None:
        rule = Rule.objects.get(key="marketing_email_content")
        page = officer.get(f"/admin/compliance/rule/{rule.pk}/change/").content.decode()
        assert "Must carry a postal address" in page and "HTML body, Text body" in page
        assert raw_structures(page) == []

    def test_a_viewer_reads_the_rule_as_labelled_rows(self, db: None) -> None:
        viewer = staff_user("auditor")
        viewer.user_permissions.add(
            *Permission.objects.filter(codename__in=["view_rule", "view_ruleversion"])
        )
        client = login(viewer)
        rule = Rule.objects.get(key="quiet_hours_marketing_sms")
        response = client.get(f"/admin/compliance/rule/{rule.pk}/change/")
        assert response.status_code == 200
        page = html.unescape(response.content.decode())
        assert "from 08:00 until 21:00, recipient's local time" in page
        assert "marketing, sms, every country" in page
        assert raw_structures(page) == []
        assert 'type="time"' not in page  # read, not edited
