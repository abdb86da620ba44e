"""The log scan (tests/logscan.py) finds what it is meant to find, and nothing in a clean line."""

from __future__ import annotations

from pathlib import Path

from tests.logscan import Bodies, Hit, scan_file, text_hits

PREFIX = "2026-11-24 02:09:37,586 INFO hub.dispatch "
BODY = "Hi Ada, your order A-1042 has shipped."


def bodies() -> Bodies:
    seen = Bodies()
    seen.add(BODY)
    seen.add_payload(b"To=%2B447700900999&Body=Your+code+is+739201%2C+valid+10+minutes")
    seen.add_payload(b'{"message": {"notification": {"title": "Flash sale tonight only"}}}')
    return seen


def kinds(line: str) -> list[str]:
    return [kind for _, kind in text_hits(PREFIX + line, bodies())]


def test_phone_numbers_are_found_in_international_and_national_form():
    assert kinds("message=1 to=+447911123456") == ["phone"]
    assert kinds("sending to +1 202-555-0123 via twilio") == ["phone"]
    assert kinds("sending to (202) 555-0123") == ["phone"]
    assert kinds("ring 020 7946 0018 please") == ["phone"]
    assert kinds("raw +4915112345678.") == ["phone"]


def test_email_addresses_are_found():
    assert kinds("bounce for ada.lovelace+news@mail.example.org") == ["email"]


def test_message_bodies_are_found_verbatim_also_from_provider_payloads():
    assert kinds(f"rendered={BODY!r}") == ["body"]
    assert kinds("payload body: Your code is 739201, valid 10 minutes") == ["body"]
    assert kinds("title=Flash sale tonight only") == ["body"]


def test_clean_lines_have_no_hits():
    clean = [
        "message=0b9f6c1e-4d0a-4e58-9a63-2f1d2c7a0b11 sent by twilio in 0.021s",
        "Task hub.messaging.tasks.send_messages[1ca8411e-d99b-43e6-9b6e-9b5758818a2d] succeeded",
        "Connected to redis://127.0.0.1:6379/5 pid=123456 port 54321",
        "w1a2b3c4d@vm ready. contact=42 hash=9f86d081884c7d659a2feaa0c55ad015",
        "Hi Ada",  # a short body is never searched for
    ]
    for line in clean:
        assert kinds(line) == [], line


def test_a_file_is_reported_by_line_and_kind_only(tmp_path: Path):
    log = tmp_path / "worker.txt"  # not *.log: the session scan must not read it
    log.write_text(f"{PREFIX}ready\n{PREFIX}to=+447700900123 ada@example.org\n", encoding="utf-8")
    hits = scan_file(log, bodies())
    assert hits == [Hit(str(log), 2, "email"), Hit(str(log), 2, "phone")]
    assert "447911123456" not in repr(hits)
