"""Digest key rotation for suppressions: each row records its key, a new key in front keeps
finding old rows, ``digests_rekey`` moves readable rows forward, erasure moves an address's
rows while it still knows the address, and the hub refuses a key set that would lose rows."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from audit.digests import address_digests, digest_keys_parse
from audit.models import AuditRecord
from audit.services import Actor
from bench.workers import process_env, web_process, worker_processes
from hub.contacts.checks import digest_keys_check, digest_keys_in_use_check
from hub.contacts.models import Contact, Suppression
from hub.contacts.selectors import suppressions_active
from hub.contacts.services import suppression_add, suppression_lift_matching
from hub.erasure import contact_erase
from hub.messaging import dispatch
from hub.messaging.models import MessageStatus as S
from hub.workspace.timeline import contact_suppressions
from tests.factories import make_live_template, make_queued_messages
from tests.servers import free_port
from tests.services import REDIS_BROKER_URL

pytestmark = pytest.mark.django_db

PHONE, EMAIL = "+447911123456", "ada@example.com"
OLD = "k1:" + "1" * 40
NEW = "k2:" + "2" * 40
SYSTEM = Actor.system()


@pytest.fixture
def old_key(settings):
    settings.HUB_DIGEST_KEYS = digest_keys_parse(OLD)
    return settings


def rotate(settings, value: str = f"{NEW},{OLD}") -> None:
    settings.HUB_DIGEST_KEYS = digest_keys_parse(value)


def test_a_suppression_records_its_key_and_the_audit_record_names_it(old_key):
    suppression = suppression_add(channel="sms", address=PHONE, reason="sms_opt_out", actor=SYSTEM)
    assert suppression.key_id == "k1"
    record = AuditRecord.objects.get(action="suppression.added")
    assert record.payload["digest_key"] == "k1"
    assert record.payload["address_digest"] == suppression.address_hash


def test_after_a_new_key_in_front_old_suppressions_still_block(old_key, settings):
    suppression_add(channel="sms", address=PHONE, reason="sms_opt_out", actor=SYSTEM)
    rotate(settings)
    assert suppressions_active(pairs={("sms", PHONE), ("email", PHONE)}) == {("sms", PHONE): "sms_opt_out"}
    # Adding it again finds the old row rather than writing a second one.
    again = suppression_add(channel="sms", address=PHONE, reason="complaint", actor=SYSTEM)
    assert (again.key_id, Suppression.objects.count()) == ("k1", 1)
    # The last line before a provider: a queued message to the number is blocked.
    (message,) = make_queued_messages(make_live_template(), to=PHONE)
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert (message.status, message.block_reason) == (S.BLOCKED, "suppressed")


def test_start_lifts_an_opt_out_stored_under_an_older_key(old_key, settings):
    suppression_add(channel="sms", address=PHONE, reason="sms_opt_out", actor=SYSTEM)
    rotate(settings)
    assert suppression_lift_matching(channel="sms", address=PHONE, reason="sms_opt_out", actor=SYSTEM) == 1


def test_the_timeline_shows_suppressions_under_every_key(old_key, settings):
    contact = Contact.objects.create(external_id="c1", phone=PHONE, email=EMAIL)
    suppression_add(channel="sms", address=PHONE, reason="sms_opt_out", actor=SYSTEM)
    rotate(settings)
    suppression_add(channel="email", address=EMAIL, reason="complaint", actor=SYSTEM)
    assert sorted(contact_suppressions(contact).values_list("key_id", flat=True)) == ["k1", "k2"]


def test_rekey_moves_readable_rows_and_reports_the_keys_still_needed(old_key, settings, capsys):
    erased = Contact.objects.create(external_id="gone", email=EMAIL)
    suppression_add(channel="sms", address=PHONE, reason="sms_opt_out", actor=SYSTEM)
    contact_erase(contact=erased, actor=SYSTEM)  # a hash-only row under k1
    rotate(settings, f"{NEW},{OLD}")
    erased_row = Suppression.objects.get(channel="email")
    call_command("digests_rekey")
    out = capsys.readouterr().out
    assert "Moved 1 suppression(s) to digest key k2" in out
    assert "Still in use" in out and "k1" in out
    assert Suppression.objects.get(channel="sms").key_id == "k2"
    assert Suppression.objects.get(pk=erased_row.pk).key_id == "k1"
    assert AuditRecord.objects.filter(action="suppressions.rekeyed", payload__digest_key="k2").count() == 1
    # With only the new key left, the moved opt-out is still found.
    rotate(settings, NEW)
    assert suppressions_active(pairs={("sms", PHONE)}) == {("sms", PHONE): "sms_opt_out"}


def test_erasure_moves_an_address_to_the_newest_key_while_it_still_knows_it(old_key, settings):
    contact = Contact.objects.create(external_id="c1", phone=PHONE)
    suppression_add(channel="sms", address=PHONE, reason="sms_opt_out", actor=SYSTEM)
    rotate(settings)
    contact_erase(contact=contact, actor=SYSTEM)
    (row,) = Suppression.objects.all()
    assert (row.address, row.key_id, row.address_hash) == ("", "k2", address_digests(PHONE)[0])
    assert AuditRecord.objects.get(action="contact.erased").payload["digest_key"] == "k2"


class TestChecks:
    def test_debug_off_without_keys_is_an_error(self, settings):
        settings.HUB_DIGEST_KEYS = ()
        assert [e.id for e in digest_keys_check()] == ["hub.E001"]

    def test_debug_off_writing_with_the_development_key_is_an_error(self, settings):
        from audit.digests import DEV_DIGEST_KEYS

        settings.HUB_DIGEST_KEYS = digest_keys_parse(f"{DEV_DIGEST_KEYS},{NEW}")
        assert [e.id for e in digest_keys_check()] == ["hub.E002"]
        # Behind a real key it only finds what a development hub wrote (a demo gone live).
        settings.HUB_DIGEST_KEYS = digest_keys_parse(f"{NEW},{DEV_DIGEST_KEYS}")
        assert digest_keys_check() == []

    def test_debug_on_needs_no_keys_of_its_own(self, settings):
        settings.DEBUG = True
        settings.HUB_DIGEST_KEYS = ()
        assert digest_keys_check() == []

    def test_dropping_a_key_that_suppressions_use_is_an_error(self, old_key, settings):
        suppression_add(channel="sms", address=PHONE, reason="sms_opt_out", actor=SYSTEM)
        rotate(settings)
        assert digest_keys_in_use_check(databases=["default"]) == []
        rotate(settings, NEW)
        (error,) = digest_keys_in_use_check(databases=["default"])
        assert error.id == "hub.E003" and "k1" in error.msg


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_web_and_worker_refuse_to_start_without_the_key_of_stored_suppressions(old_key, tmp_path):
    """Neither gunicorn nor Celery stops on a failed system check: both run the key checks as
    they start, and exit."""
    suppression_add(channel="sms", address=PHONE, reason="sms_opt_out", actor=SYSTEM)
    dropped = {"HUB_DIGEST_KEYS": NEW}
    refused = pytest.raises(RuntimeError, match=r"(?s)exited at start.*hub\.E003.*k1")
    with refused, worker_processes(REDIS_BROKER_URL, tmp_path, extra_env=dropped):
        pytest.fail("the worker started")
    env = process_env(REDIS_BROKER_URL, dropped)
    refused = pytest.raises(RuntimeError, match=r"(?s)exited at start.*hub\.E003.*k1")
    with refused, web_process(free_port(), tmp_path / "web.log", env):
        pytest.fail("the web process started")
