"""Consent state is derived from the ledger (latest entry wins); recipient time zones come from
the contact, else the phone number's region, else the default."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.services import Actor
from hub.contacts.models import Contact
from hub.contacts.selectors import consent_states, phone_country, recipient_zones
from hub.contacts.services import consent_record

entries = st.lists(
    st.tuples(
        st.sampled_from(["sms", "email", "push"]),
        st.sampled_from(["marketing", "transactional"]),
        st.booleans(),
    ),
    max_size=12,
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=entries)
def test_current_consent_is_the_latest_ledger_entry_per_channel_and_purpose(history):
    contact = Contact.objects.create(external_id=f"h-{Contact.objects.count()}")
    expected = {}
    for channel, purpose, granted in history:
        consent_record(
            contact=contact,
            channel=channel,
            purpose=purpose,
            granted=granted,
            source="api",
            actor=Actor.system(),
        )
        expected[(contact.pk, channel, purpose)] = granted
    assert consent_states(contact_ids=[contact.pk]) == expected


@pytest.mark.django_db
def test_consent_of_a_few_contacts_is_one_plain_select(monkeypatch):
    """No server-side cursor (DECLARE, FETCH, CLOSE: three round trips) for a single accept's
    contact; many contacts (a broadcast's batch) are still streamed."""
    from django.db import connections

    contact = Contact.objects.create(external_id="few-1")
    consent_record(
        contact=contact, channel="sms", purpose="marketing", granted=True, source="api", actor=Actor.system()
    )
    streamed: list[bool] = []
    wrapper = type(connections["default"])
    chunked = wrapper.chunked_cursor

    def spy(self):
        streamed.append(True)
        return chunked(self)

    monkeypatch.setattr(wrapper, "chunked_cursor", spy)
    assert consent_states(contact_ids=[contact.pk]) == {(contact.pk, "sms", "marketing"): True}
    assert not streamed
    assert consent_states(contact_ids=[contact.pk, *range(-1001, -1)]) == {
        (contact.pk, "sms", "marketing"): True
    }
    assert streamed


def test_a_number_validated_then_decided_is_parsed_once(monkeypatch):
    """The API's validation and the decision's facts share the parse (issue 16: each parsed
    and placed the same number in its region, a third of a batch item's CPU)."""
    import secrets

    import phonenumbers

    from hub.contacts.validation import normalise_phone

    parsed: list[str] = []
    parse = phonenumbers.parse

    def spy(number, region=None, *args, **kwargs):
        parsed.append(number)
        return parse(number, region, *args, **kwargs)

    monkeypatch.setattr(phonenumbers, "parse", spy)
    # A number no other test has cached, in a range only GB has: one of +4479 in 50 is a
    # Jersey, Guernsey or unallocated number (CI drew +447937..., a Jersey one, once).
    phone = f"+44740{secrets.randbelow(10**7):07d}"
    assert normalise_phone(phone) == phone
    assert phone_country(phone) == "GB"
    assert "Europe/London" in recipient_zones(timezone_name="", phone=phone, default="UTC")[0]
    assert parsed == [phone]


def test_zone_from_contact_then_phone_region_then_default():
    assert recipient_zones(timezone_name="Asia/Tokyo", phone="+447911123456", default="UTC") == (
        ("Asia/Tokyo",),
        "contact",
    )
    assert recipient_zones(timezone_name="", phone="+4915112345678", default="UTC") == (
        ("Europe/Berlin",),
        "phone",
    )
    zones, source = recipient_zones(timezone_name="", phone="+61412345678", default="UTC")
    assert source == "phone" and "Australia/Sydney" in zones and "Australia/Perth" in zones
    assert recipient_zones(timezone_name="", phone="", default="Europe/Paris") == (
        ("Europe/Paris",),
        "default",
    )
    assert phone_country("+12025550123") == "US" and phone_country("") == ""


def test_phone_facts_cache_is_bounded_small():
    # Every broadcast recipient is a new number: the cache must stop growing early, or each
    # worker's memory grows with its first tens of thousands of recipients (issue 8, P6).
    from hub.contacts.selectors import (
        PHONE_FACTS_CACHE_SIZE,
        _phone_kind,
        _phone_number,
        _phone_region,
        _phone_zones,
    )

    assert PHONE_FACTS_CACHE_SIZE <= 4096
    for cache in (_phone_number, _phone_region, _phone_zones, _phone_kind):
        assert cache.cache_info().maxsize == PHONE_FACTS_CACHE_SIZE


# Shared calling codes (+44: GB, GG, IM, JE; +1), leading-digit regions, a non-geographic code,
# geographic and mobile numbers, numbers invalid for their code, and a short one.
PHONES = [
    "+447911123456",
    "+442079460000",
    "+447781123456",  # Guernsey mobile
    "+447624123456",  # Isle of Man mobile
    "+447797123456",  # Jersey mobile
    "+441481712345",  # Guernsey fixed
    "+447000123456",  # personal number
    "+440000000000",
    "+12025550123",
    "+14165550123",
    "+18765551234",
    "+15555555555",
    "+4915112345678",
    "+493012345678",
    "+61412345678",
    "+5511912345678",
    "+525512345678",
    "+80012345678",
    "+8613812345678",
    "+3712345",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_facts_answer_as_phonenumbers_own_functions(phone):
    """Region, validity and zones are found matching the number once (``_region_and_type``):
    each answers exactly what phonenumbers' own functions answer."""
    import phonenumbers
    from phonenumbers import timezone as phone_timezone

    from hub.contacts.selectors import _phone_kind, phone_valid, recipient_zones

    number = phonenumbers.parse(phone, None)
    region = phonenumbers.region_code_for_number(number) or ""
    assert phone_country(phone) == region
    assert _phone_kind(phone) == (region, phonenumbers.number_type(number))
    assert phone_valid(phone) == phonenumbers.is_valid_number_for_region(number, region)
    assert phone_valid(phone) == phonenumbers.is_valid_number(number)
    zones = tuple(z for z in phone_timezone.time_zones_for_number(number) if "/" in z)
    assert recipient_zones(timezone_name="", phone=phone, default="UTC") == (
        (zones, "phone") if zones else (("UTC",), "default")
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_contact_search_uses_the_trigram_indexes_on_postgresql():
    """Each expression the search filters by is the expression an index covers (contacts/0007):
    with sequential scans off, every arm of the OR is a bitmap index scan."""
    from django.db import connection

    from hub.contacts.selectors import contacts_matching

    sql, params = contacts_matching("ada").query.sql_with_params()
    assert "ORDER BY" not in sql  # else the planner may walk the external_id index instead
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in ("external_id", "email", "phone", "name"):
        assert f"contacts_contact_{index}_trgm" in plan, plan


@pytest.mark.django_db
def test_contacts_by_external_id_are_the_instances_the_orm_reads():
    """The intake's plain SELECT makes each contact as the ORM would: every column converted
    (its attributes from JSON), saved state, and only the contacts asked for that exist."""
    from hub.contacts.selectors import contacts_by_external_id

    made = Contact.objects.create(
        external_id="plain-1",
        phone="+447911123456",
        timezone="Europe/London",
        attributes={"tier": "gold", "n": [1, 2.5, None], "ü": {"x": True}},
    )
    Contact.objects.create(external_id="plain-2")
    found = contacts_by_external_id(["plain-1", "plain-1", "nobody"])
    assert list(found) == ["plain-1"]
    mine, theirs = found["plain-1"], Contact.objects.get(pk=made.pk)
    assert {k: v for k, v in mine.__dict__.items() if k != "_state"} == {
        k: v for k, v in theirs.__dict__.items() if k != "_state"
    }
    assert (mine._state.adding, mine._state.db) == (False, "default")
    assert contacts_by_external_id([]) == {}
