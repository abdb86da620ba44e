from __future__ import annotations

from typing import Any

import pytest

from templates_app.models import Category, Template
from tests.factories import make_live_template

TRACKED_EMAIL = {
    "channel": "email",
    "locale": "en",
    "subject": "Spring offers, {{ first_name }}",
    "html": (
        "<html><body><p>Hi {{ first_name }}</p>"
        '<p><a href="https://shop.example/spring?a=1&amp;b=2">See the <b>spring</b> sale</a></p>'
        "<p><a href='javascript:alert(1)'>bad</a> <a href=\"mailto:help@shop.example\">mail us</a></p>"
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> {{ postal_address }}</p></body></html>'
    ),
    "text": "Hi {{ first_name }}. Sale: https://shop.example/spring?a=1&b=2. Unsubscribe: {{ unsubscribe_url }}",
}
TRACKED_SMS = {
    "channel": "sms",
    "locale": "en",
    "text": "Spring sale {{ first_name }}: https://shop.example/sms-offer, more at https://shop.example/more. Reply STOP to opt out.",
}
DATA = {"first_name": "Ada", "unsubscribe_url": "http://testserver/u/x", "postal_address": "1 High St"}


def tracked_template(key: str = "promo.tracked", **fields: Any) -> Template:
    template = make_live_template(key, category=Category.MARKETING, variants=[TRACKED_SMS, TRACKED_EMAIL])
    for name, value in fields.items():
        setattr(template, name, value)
    template.save()
    return template


@pytest.fixture
def hub_base(settings: Any) -> str:
    settings.HUB_BASE_URL = "http://testserver"
    return "http://testserver"
