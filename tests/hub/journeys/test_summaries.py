"""Plain-language summaries of journeys (issue 17.3)."""

from __future__ import annotations

from hub.journeys.summaries import condition_words, journey_story, step_summary, steps_summaries

CART = {
    "key": "cart",
    "name": "Cart",
    "trigger": {"event": "cart.abandoned", "condition": "event.data.cart_total >= 20"},
    "exit_events": [{"event": "order.completed"}],
    "goal": {"event": "order.completed", "within": "7d"},
    "steps": [
        {"id": "email", "type": "send", "template": "cart.email", "channels": ["email"], "on_blocked": "sms"},
        {
            "id": "opened",
            "type": "wait_for",
            "message": {"step": "email", "status": ["opened"]},
            "timeout": "2d",
            "on_match": "done",
            "on_timeout": "sms",
        },
        {"id": "sms", "type": "send", "template": "cart.reminder", "channels": ["sms"]},
        {"id": "done", "type": "exit"},
    ],
}


def test_each_step_in_words() -> None:
    by_id = dict(steps_summaries(CART))
    assert by_id["email"] == "Send email `cart.email`; if compliance blocks it, go to step sms."
    assert by_id["opened"] == (
        "Wait up to 2 days for the email (step email) to be opened: if it was, go to step done; "
        "if it was not opened, go to step sms."
    )
    assert by_id["sms"] == "Send SMS `cart.reminder`."
    assert by_id["done"] == "End the journey here."


def test_the_story_reads_as_the_issue_says() -> None:
    story = journey_story(CART)
    assert "if the email was not opened within 2 days, then send SMS `cart.reminder`" in story
    assert story.startswith("When `cart.abandoned` happens and the event's cart_total is at least 20:")
    assert "It stops as soon as `order.completed` happens." in story
    assert "It succeeds when `order.completed` happens within 7 days." in story


def test_waits_branches_and_digests() -> None:
    definition = {**CART, "steps": []}
    assert step_summary(definition | {"steps": [s := {"id": "w", "type": "wait", "duration": "1h"}]}, s) == (
        "Wait 1 hour."
    )
    until = {"id": "w", "type": "wait", "until": "18:30", "next": "x"}
    assert step_summary(definition | {"steps": [until]}, until) == (
        "Wait until 18:30 in the contact's time zone, then go to step x."
    )
    branch = {
        "id": "b",
        "type": "branch",
        "branches": [{"condition": "contact.attributes.vip == true", "next": "x", "label": "VIPs"}],
        "default": "y",
    }
    assert step_summary(definition | {"steps": [branch]}, branch) == (
        "If the contact's vip is true (VIPs), go to step x; otherwise go to step y."
    )
    digest = {
        "id": "d",
        "type": "digest",
        "event": "comment.added",
        "key": "thread_id",
        "window": "1h",
        "max_events": 20,
        "template": "comments",
        "channels": ["email"],
    }
    assert step_summary(definition | {"steps": [digest]}, digest) == (
        "Gather the `comment.added` events per thread_id for 1 hour (or as soon as 20 have come), "
        "then send them together by email `comments`."
    )


def test_conditions_in_words_or_quoted() -> None:
    assert condition_words("steps.email.outcome == 'sent' && event.data.n < 3") == (
        "step email's outcome is sent and the event's n is under 3"
    )
    assert condition_words("size(event.data.items) > 2") == "`size(event.data.items) > 2`"
