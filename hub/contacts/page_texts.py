"""The preferences page's words in each supported locale; ``en`` is the fallback.
A locale falls back like templates do: ``fr-CA`` → ``fr`` → ``en``."""

from __future__ import annotations

from collections.abc import Mapping

TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Your message preferences",
        "done": "You are unsubscribed from {category} {channel}. You will not receive them any more.",
        "confirm": "Unsubscribe from {category} {channel}",
        "intro": "Choose what we may send you. Changes apply at once.",
        "save": "Save my preferences",
        "saved": "Your preferences are saved.",
        "marketing": "Offers and news",
        "transactional": "Account and service messages",
        "email": "email",
        "sms": "text messages",
        "push": "notifications",
        "all": "every channel",
        "gone": "This link is no longer valid.",
    },
    "fr": {
        "title": "Vos préférences de messages",
        "done": "Vous êtes désabonné(e) : {category}, {channel}. Vous ne les recevrez plus.",
        "confirm": "Me désabonner : {category}, {channel}",
        "intro": "Choisissez ce que nous pouvons vous envoyer. Les changements s'appliquent immédiatement.",
        "save": "Enregistrer mes préférences",
        "saved": "Vos préférences sont enregistrées.",
        "marketing": "Offres et actualités",
        "transactional": "Messages liés à votre compte",
        "email": "e-mails",
        "sms": "SMS",
        "push": "notifications",
        "all": "tous les canaux",
        "gone": "Ce lien n'est plus valable.",
    },
    "de": {
        "title": "Ihre Nachrichteneinstellungen",
        "done": "Sie sind abgemeldet: {category}, {channel}. Sie erhalten sie nicht mehr.",
        "confirm": "Abmelden: {category}, {channel}",
        "intro": "Wählen Sie, was wir Ihnen senden dürfen. Änderungen gelten sofort.",
        "save": "Einstellungen speichern",
        "saved": "Ihre Einstellungen sind gespeichert.",
        "marketing": "Angebote und Neuigkeiten",
        "transactional": "Konto- und Servicenachrichten",
        "email": "E-Mails",
        "sms": "SMS",
        "push": "Benachrichtigungen",
        "all": "alle Kanäle",
        "gone": "Dieser Link ist nicht mehr gültig.",
    },
    "es": {
        "title": "Tus preferencias de mensajes",
        "done": "Te has dado de baja: {category}, {channel}. No los recibirás más.",
        "confirm": "Darme de baja: {category}, {channel}",
        "intro": "Elige qué podemos enviarte. Los cambios se aplican al momento.",
        "save": "Guardar mis preferencias",
        "saved": "Tus preferencias se han guardado.",
        "marketing": "Ofertas y novedades",
        "transactional": "Mensajes de tu cuenta y del servicio",
        "email": "correos",
        "sms": "SMS",
        "push": "notificaciones",
        "all": "todos los canales",
        "gone": "Este enlace ya no es válido.",
    },
}


def page_texts(locale: str) -> tuple[str, Mapping[str, str]]:
    """(language used, its texts) for a BCP 47 locale such as ``en-GB``."""
    language = (locale or "en").replace("_", "-").split("-")[0].lower()
    if language in TEXTS:
        return language, TEXTS[language]
    return "en", TEXTS["en"]
