"""The demo's templates: realistic content in both categories, all three channels, English
and French, with declared variables and a branded layout."""

from __future__ import annotations

from typing import Any

DEMO_LAYOUT: dict[str, str] = {
    "name": "Example Bank",
    "header_html": '<p class="brand">Example Bank</p>',
    "footer_html": "<p>You receive this email because you are an Example Bank customer.</p>",
    "postal_address": "Example Bank Ltd, 1 High Street, London EC1A 1AA, United Kingdom",
    "css": (
        "body { font-family: Arial, sans-serif; color: #1f2933; } "
        ".brand { font-size: 20px; font-weight: bold; color: #0b5394; } "
        ".footer, .address { font-size: 12px; color: #6b7280; } "
        "a { color: #0b5394; }"
    ),
}

ORDER_SHIPPED_VARIABLES: list[dict[str, Any]] = [
    {"name": "first_name", "type": "string", "required": True, "example": "Ada"},
    {"name": "order_number", "type": "string", "required": True, "example": "A-1042"},
    {
        "name": "delivery_date",
        "type": "date",
        "required": False,
        "example": "2026-05-14",
        "description": "Expected delivery day, if known.",
    },
]
_WHEN_EN = "{% if delivery_date is defined %} Expected {{ delivery_date }}.{% endif %}"
_WHEN_FR = "{% if delivery_date is defined %} Livraison prévue le {{ delivery_date }}.{% endif %}"
ORDER_SHIPPED: list[dict[str, Any]] = [
    {
        "channel": "sms",
        "locale": "en",
        "text": f"Hi {{{{ first_name }}}}, your order {{{{ order_number }}}} is on its way.{_WHEN_EN}",
    },
    {
        "channel": "sms",
        "locale": "fr",
        "text": f"Bonjour {{{{ first_name }}}}, votre commande {{{{ order_number }}}} est en route.{_WHEN_FR}",
    },
    {
        "channel": "email",
        "locale": "en",
        "subject": "Your order {{ order_number }} has shipped",
        "preheader": "Good news: it is on its way.",
        "html": "<p>Hi {{ first_name }},</p><p>Your order <strong>{{ order_number }}</strong> is on its way."
        f"{_WHEN_EN}</p>",
        "text": "",
    },
    {
        "channel": "email",
        "locale": "fr",
        "subject": "Votre commande {{ order_number }} est partie",
        "preheader": "Bonne nouvelle : elle est en route.",
        "html": "<p>Bonjour {{ first_name }},</p><p>Votre commande <strong>{{ order_number }}</strong> est en route."
        f"{_WHEN_FR}</p>",
        "text": "",
    },
    {
        "channel": "push",
        "locale": "en",
        "title": "Order shipped",
        "text": "Order {{ order_number }} is on its way.",
        "link": "https://shop.example/orders/{{ order_number }}",
        "data": {"screen": "order", "order": "{{ order_number }}"},
    },
    {
        "channel": "push",
        "locale": "fr",
        "title": "Commande expédiée",
        "text": "La commande {{ order_number }} est en route.",
        "link": "https://shop.example/orders/{{ order_number }}",
        "data": {"screen": "order", "order": "{{ order_number }}"},
    },
]

PAYMENT_DUE_VARIABLES: list[dict[str, Any]] = [
    {"name": "first_name", "type": "string", "required": True, "example": "Ada"},
    {"name": "amount", "type": "money", "required": True, "example": "129.90 GBP"},
    {"name": "due_date", "type": "date", "required": True, "example": "2026-06-01"},
    {"name": "pay_url", "type": "url", "required": True, "example": "https://bank.example/pay/123"},
]
PAYMENT_DUE: list[dict[str, Any]] = [
    {
        "channel": "sms",
        "locale": "en",
        "text": "Example Bank: {{ amount }} is due on {{ due_date }}. Pay: {{ pay_url }}",
    },
    {
        "channel": "sms",
        "locale": "fr",
        "text": "Example Bank : {{ amount }} à régler le {{ due_date }}. Payer : {{ pay_url }}",
    },
    {
        "channel": "email",
        "locale": "en",
        "subject": "Your payment of {{ amount }} is due on {{ due_date }}",
        "preheader": "Pay in two minutes online.",
        "html": '<p>Hi {{ first_name }},</p><p>Your payment of <b>{{ amount }}</b> is due on {{ due_date|date("long") }}.</p>'
        '<p><a href="{{ pay_url }}">Pay now</a></p>',
        "text": "",
    },
    {
        "channel": "email",
        "locale": "fr",
        "subject": "Votre paiement de {{ amount }} est dû le {{ due_date }}",
        "preheader": "Payez en deux minutes en ligne.",
        "html": '<p>Bonjour {{ first_name }},</p><p>Votre paiement de <b>{{ amount }}</b> est dû le {{ due_date|date("long") }}.</p>'
        '<p><a href="{{ pay_url }}">Payer maintenant</a></p>',
        "text": "",
    },
    {
        "channel": "push",
        "locale": "en",
        "title": "Payment due {{ due_date }}",
        "text": "{{ amount }} is due. Tap to pay.",
        "link": "{{ pay_url }}",
    },
    {
        "channel": "push",
        "locale": "fr",
        "title": "Paiement dû le {{ due_date }}",
        "text": "{{ amount }} à régler. Touchez pour payer.",
        "link": "{{ pay_url }}",
    },
]

# unsubscribe_url is not declared: the hub fills it (its own signed /u/ link) in every send.
SPRING_OFFER_VARIABLES: list[dict[str, Any]] = [
    {"name": "first_name", "type": "string", "required": True, "example": "Ada"},
]
SPRING_OFFER: list[dict[str, Any]] = [
    {
        "channel": "sms",
        "locale": "en",
        "text": "Hi {{ first_name }}, 20% off everything this week with code SPRING. Reply STOP to opt out.",
    },
    {
        "channel": "sms",
        "locale": "fr",
        "text": "Bonjour {{ first_name }}, -20% sur tout cette semaine avec le code SPRING. STOP pour vous désabonner.",
    },
    {
        "channel": "email",
        "locale": "en",
        "subject": "20% off, this week only",
        "preheader": "Use code SPRING at checkout.",
        "html": "<p>Hi {{ first_name }},</p><p>Use code <b>SPRING</b> for 20% off.</p>"
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
        "text": "",
    },
    {
        "channel": "email",
        "locale": "fr",
        "subject": "-20 %, cette semaine seulement",
        "preheader": "Code SPRING à la caisse.",
        "html": "<p>Bonjour {{ first_name }},</p><p>Code <b>SPRING</b> : -20 %.</p>"
        '<p><a href="{{ unsubscribe_url }}">Se désabonner</a></p>',
        "text": "",
    },
]

REVIEW_NOTICE_VARIABLES: list[dict[str, Any]] = [
    {
        "name": "subject",
        "type": "string",
        "required": True,
        "example": "offer.spring v2 is waiting for your review",
    },
    {
        "name": "message",
        "type": "string",
        "required": True,
        "example": "offer.spring v2 was submitted for approval.",
    },
    {"name": "link", "type": "url", "required": True, "example": "https://switchboard.example/admin/"},
]
REVIEW_NOTICE: list[dict[str, Any]] = [
    {
        "channel": "email",
        "locale": "en",
        "subject": "{{ subject }}",
        "html": '<p>{{ message }}</p><p><a href="{{ link }}">Open it in Switchboard</a></p>',
        "text": "",
    },
    {
        "channel": "email",
        "locale": "fr",
        "subject": "{{ subject }}",
        "html": '<p>{{ message }}</p><p><a href="{{ link }}">Ouvrir dans Switchboard</a></p>',
        "text": "",
    },
]

# Written in GOV.UK Notify's placeholder syntax, so a Notify client can send at once after
# `scripts/up` (docs/moving-from-notify.md): one SMS and one email template, each with ((name)).
NOTIFY_NAME_VARIABLE: list[dict[str, Any]] = [
    {"name": "name", "type": "string", "required": True, "example": "Ada"},
]
NOTIFY_WELCOME_SMS: list[dict[str, Any]] = [
    {"channel": "sms", "locale": "en", "text": "Hello ((name)), welcome to Example Bank."},
]
NOTIFY_WELCOME_EMAIL: list[dict[str, Any]] = [
    {
        "channel": "email",
        "locale": "en",
        "subject": "Welcome to Example Bank, ((name))",
        "preheader": "Your account is ready.",
        "html": "<p>Hello ((name)),</p><p>Your Example Bank account is ready.</p>",
        "text": "",
    },
]

CART_REMINDER_VARIABLES: list[dict[str, Any]] = [
    {"name": "first_name", "type": "string", "required": True, "example": "Ada"},
    {"name": "cart_url", "type": "string", "required": True, "example": "https://shop.example/cart/9"},
]
CART_REMINDER: list[dict[str, Any]] = [
    {
        "channel": "push",
        "locale": "en",
        "title": "Still thinking it over?",
        "text": "{{ first_name }}, your cart is waiting for you.",
        "link": "{{ cart_url }}",
        "data": {"screen": "cart"},
    },
    {
        "channel": "email",
        "locale": "en",
        "subject": "You left something in your cart",
        "preheader": "It is saved for you.",
        "html": '<p>Hi {{ first_name }},</p><p>Your cart is saved: <a href="{{ cart_url }}">finish your order</a>.</p>',
        "text": "",
    },
    {
        "channel": "sms",
        "locale": "en",
        "text": "Hi {{ first_name }}, your cart is still saved: {{ cart_url }}",
    },
    {
        "channel": "push",
        "locale": "fr",
        "title": "Vous hésitez encore ?",
        "text": "{{ first_name }}, votre panier vous attend.",
        "link": "{{ cart_url }}",
        "data": {"screen": "cart"},
    },
    {
        "channel": "email",
        "locale": "fr",
        "subject": "Vous avez oublié votre panier",
        "preheader": "Nous l'avons gardé pour vous.",
        "html": '<p>Bonjour {{ first_name }},</p><p>Votre panier est gardé : <a href="{{ cart_url }}">terminez votre commande</a>.</p>',
        "text": "",
    },
    {
        "channel": "sms",
        "locale": "fr",
        "text": "Bonjour {{ first_name }}, votre panier est toujours là : {{ cart_url }}",
    },
]
# Support's replies to inbound messages (hub.contacts.conversations): the agent writes the body.
SUPPORT_REPLY_VARIABLES: list[dict[str, Any]] = [
    {"name": "body", "type": "string", "required": True, "example": "Thanks, we have fixed it."},
    {"name": "subject", "type": "string", "required": False, "example": "Re: your order"},
]
SUPPORT_REPLY: list[dict[str, Any]] = [
    {"channel": "sms", "locale": locale, "text": "{{ body }}"} for locale in ("en", "fr")
] + [
    {
        "channel": "email",
        "locale": locale,
        "subject": f"{{{{ subject | default('{fallback}') }}}}",
        "preheader": "",
        "html": "<p>{{ body }}</p>",
        "text": "",
    }
    for locale, fallback in (("en", "Your message"), ("fr", "Votre message"))
]

DEMO_TEMPLATES: list[dict[str, Any]] = [
    {
        "key": "order.shipped",
        "name": "Order shipped",
        "category": "transactional",
        "description": "Sent by the shop when a parcel leaves the warehouse.",
        "variants": ORDER_SHIPPED,
        "variables": ORDER_SHIPPED_VARIABLES,
    },
    {
        "key": "payment.due",
        "name": "Payment due reminder",
        "category": "transactional",
        "description": "Sent by loans three days before a payment is due.",
        "variants": PAYMENT_DUE,
        "variables": PAYMENT_DUE_VARIABLES,
    },
    {
        "key": "offer.spring",
        "name": "Spring offer",
        "category": "marketing",
        "description": "Seasonal discount for customers who opted in to offers.",
        "variants": SPRING_OFFER,
        "variables": SPRING_OFFER_VARIABLES,
    },
    {
        "key": "cart.reminder",
        "name": "Cart reminder",
        "category": "transactional",
        "description": "The abandoned-cart journey's reminder (the demo journey abandoned_cart sends it).",
        "variants": CART_REMINDER,
        "variables": CART_REMINDER_VARIABLES,
    },
    {
        "key": "notify.welcome.sms",
        "name": "Welcome (SMS, Notify syntax)",
        "category": "transactional",
        "description": "For GOV.UK Notify clients: send it through /v2/notifications/sms.",
        "variants": NOTIFY_WELCOME_SMS,
        "variables": NOTIFY_NAME_VARIABLE,
    },
    {
        "key": "notify.welcome.email",
        "name": "Welcome (email, Notify syntax)",
        "category": "transactional",
        "description": "For GOV.UK Notify clients: send it through /v2/notifications/email.",
        "variants": NOTIFY_WELCOME_EMAIL,
        "variables": NOTIFY_NAME_VARIABLE,
    },
    {
        "key": "support.reply",
        "name": "Support reply",
        "category": "transactional",
        "description": "What support writes back to a person's SMS or email, from the contact's timeline.",
        "variants": SUPPORT_REPLY,
        "variables": SUPPORT_REPLY_VARIABLES,
    },
    # Issue 20: the email Switchboard sends its own staff about reviews
    # (templates_app.services.review_mail); written and approved like any other template.
    {
        "key": "switchboard.review",
        "name": "Switchboard: review notices",
        "category": "transactional",
        "description": "To staff: a version waits for your review, or a decision on yours was made.",
        "variants": REVIEW_NOTICE,
        "variables": REVIEW_NOTICE_VARIABLES,
    },
]
