"""Addresses as staff see them: in full to those who may (``contacts.view_contact_addresses``,
Compliance), masked otherwise. The mask is applied on the server, before the page is written:
the full address never reaches a browser that may not show it."""

from __future__ import annotations

from typing import Any

ADDRESS_PERMISSION = "contacts.view_contact_addresses"
MASK = "•"


def addresses_visible(user: Any) -> bool:
    """Whether ``user`` may read contacts' email addresses and phone numbers in full."""
    return bool(user.has_perm(ADDRESS_PERMISSION))


def address_masked(address: str) -> str:
    """Enough to confirm an address with the person who owns it, not enough to use it: an
    email keeps its first letter and its domain (``a•••@example.com``), a phone number its
    country code and last three digits (``+44•••••••456``), anything else its last two
    characters."""
    if not address:
        return ""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}{MASK * 3}@{domain}"
    if address.startswith("+") and len(address) > 7:
        return address[:3] + MASK * (len(address) - 6) + address[-3:]
    if len(address) > 4:
        return MASK * (len(address) - 2) + address[-2:]
    return MASK * len(address)


def address_shown(address: str, *, visible: bool) -> str:
    """``address`` in full when ``visible``, masked otherwise."""
    return address if visible else address_masked(address)
