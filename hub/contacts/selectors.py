"""Reading contacts, consent state and suppressions, in bulk where the engine needs it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import phonenumbers
from django.db import connection
from django.db.models import Model, Q, QuerySet
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneMetadata,
    PhoneNumberType,
    national_significant_number,
)
from phonenumbers import timezone as phone_timezone
from phonenumbers.phonenumberutil import _number_type_helper
from phonenumbers.re_util import re_compile
from phonenumbers.timezone import _UNKNOWN_TIME_ZONE_LIST, _country_level_time_zones_for_number

from audit.digests import address_digests
from audit.rows import rows_read
from hub.contacts.models import ConsentEntry, Contact, Suppression

ConsentKey = tuple[int, str, str]  # contact id, channel, purpose


def consent_states(*, contact_ids: Iterable[int]) -> dict[ConsentKey, bool]:
    """The current consent per contact x channel x purpose: the latest ledger entry wins.
    Keys with no entry are absent. One query for any number of contacts."""
    ids = list(set(contact_ids))
    states: dict[ConsentKey, bool] = {}
    if not ids:
        return states
    # Plain SQL, as for the suppressions: through the ORM, building the query cost an accept to
    # a contact more than running it. Streamed (a server-side cursor: DECLARE, FETCH, CLOSE)
    # only for many contacts; for a few (a single accept) one plain SELECT is one round trip.
    with connection.chunked_cursor() if len(ids) > 1000 else connection.cursor() as cursor:
        cursor.execute(*_where_in(_consent_select(), ids, "bigint"))
        while rows := cursor.fetchmany(5000):
            for contact_id, channel, purpose, granted in rows:
                states[(contact_id, channel, purpose)] = bool(granted)
    return states


@lru_cache(maxsize=1)
def _consent_select() -> tuple[str, str]:
    """What ``ConsentEntry.objects.filter(contact_id__in=...).order_by("contact_id", "channel",
    "purpose", "created_at", "id").values_list("contact_id", "channel", "purpose", "granted")``
    runs (for ``_where_in``)."""
    table, (contact, channel, purpose, granted, created, pk) = _quoted(
        ConsentEntry, ("contact", "channel", "purpose", "granted", "created_at", "id")
    )
    select = f"SELECT {contact}, {channel}, {purpose}, {granted} FROM {table} WHERE {contact}"  # noqa: S608 - names quoted
    return select, f"ORDER BY {contact}, {channel}, {purpose}, {created}, {pk}"


def _quoted(model: type[Model], names: Sequence[str]) -> tuple[str, list[str]]:
    """``model``'s table and the columns of the fields ``names``, quoted for this database."""
    quote = connection.ops.quote_name
    meta = model._meta
    return quote(meta.db_table), [quote(str(meta.get_field(n).column)) for n in names]  # type: ignore[union-attr]


def _where_in(statement: tuple[str, str], values: list[Any], array_type: str) -> tuple[str, list[Any]]:
    """``SELECT … WHERE column`` (``statement``'s first part) among ``values``, then what
    follows (its second part): the plain SQL of the selectors read on every accept, and its
    parameters. On PostgreSQL ``= ANY`` one array of ``array_type``: one statement text for any
    number of values (the server prepares it once); elsewhere ``IN`` a parameter a value."""
    select, rest = statement
    if connection.vendor == "postgresql":
        return f"{select} = ANY(%s::{array_type}[]) {rest}", [values]
    return f"{select} IN ({', '.join(['%s'] * len(values))}) {rest}", values


def contacts_by_external_id(external_ids: Iterable[str]) -> dict[str, Contact]:
    """The contacts with these ``external_id``s, by it (those that exist). On PostgreSQL one
    plain ``SELECT`` of one array parameter, each row made into its instance without the ORM's
    query building (``audit.rows.rows_read``, as the journeys read their contacts)."""
    ids = list(set(external_ids))
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        contacts = rows_read(Contact, "external_id = ANY(%s)", [ids])
    else:
        contacts = list(Contact.objects.filter(external_id__in=ids))
    return {c.external_id: c for c in contacts}


def consent_state(*, contact: Contact) -> dict[tuple[str, str], bool]:
    """One contact's current consent as {(channel, purpose): granted}."""
    return {(ch, p): g for (_, ch, p), g in consent_states(contact_ids=[contact.pk]).items()}


def suppressions_active(*, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Of these (channel, address) pairs, the suppressed ones with their reason. An address is
    matched under every digest key (audit.digests), so suppressions written under an older key
    are found too. One query for any number of addresses."""
    wanted: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for channel, address in set(pairs):
        for digest in address_digests(address) if address else ():
            wanted[digest].add((channel, address))
    if not wanted:
        return {}
    # Plain SQL: on every accept, building this query through the ORM cost more than running it.
    with connection.cursor() as cursor:
        cursor.execute(*_where_in(_suppressions_select(), list(wanted), "text"))
        rows = cursor.fetchall()
    return {pair: reason for ch, h, reason in rows for pair in wanted[h] if pair[0] == ch}


@lru_cache(maxsize=1)
def _suppressions_select() -> tuple[str, str]:
    """The active suppressions among some address digests (the query the ORM would build as
    ``filter(address_hash__in=..., lifted_at__isnull=True)``, for ``_where_in``)."""
    table, (channel, digest, reason, lifted) = _quoted(
        Suppression, ("channel", "address_hash", "reason", "lifted_at")
    )
    select = f"SELECT {channel}, {digest}, {reason} FROM {table} WHERE {digest}"  # noqa: S608 - names quoted
    return select, f"AND {lifted} IS NULL"


def suppressions_of(*, address: str) -> QuerySet[Suppression]:
    """Every suppression of an address (active or lifted, any channel), under any digest key."""
    return Suppression.objects.filter(address_hash__in=address_digests(address))


# Parsing a number costs ~0.1 ms, so repeated recipients (codes, alerts) are worth caching;
# a broadcast's recipients are all different and gain nothing. The bound keeps a worker's
# memory flat: at ~260 bytes an entry, 65,536 entries grew each worker by 17 MB over its
# first 65,536 recipients of broadcasts; 4,096 hold about 1 MB per cache.
PHONE_FACTS_CACHE_SIZE = 4096


@lru_cache(maxsize=PHONE_FACTS_CACHE_SIZE)
def _phone_number(phone: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=PHONE_FACTS_CACHE_SIZE)
def _phone_kind(phone: str) -> tuple[str, int]:
    """The number's region and type (``PhoneNumberType``; UNKNOWN: not a valid number)."""
    number = _phone_number(phone)
    return _region_and_type(number) if number is not None else ("", PhoneNumberType.UNKNOWN)


def _region_and_type(number: phonenumbers.PhoneNumber) -> tuple[str, int]:
    """What ``region_code_for_number`` and ``number_type`` answer ("" for no region), the
    number matched against its region's patterns once: phonenumbers' own steps (its region,
    then its validity for that region, then its time zones) match it four times for a number
    of a calling code shared by several regions (+44: GB, GG, IM, JE; +1), as the API's are.
    Its own steps, in its order (``_region_code_for_number_from_list``, ``number_type``)."""
    code = number.country_code
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code) if code is not None else None
    if code is None or regions is None:
        return "", PhoneNumberType.UNKNOWN
    national = national_significant_number(number)
    region = regions[0]
    if len(regions) > 1:
        for region in regions:
            metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
            if metadata is None:
                continue
            if metadata.leading_digits is not None:
                if re_compile(metadata.leading_digits).match(national):
                    break
            elif (kind := _number_type_helper(national, metadata)) != PhoneNumberType.UNKNOWN:
                return region, kind
        else:
            return "", PhoneNumberType.UNKNOWN
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    return region, _number_type_helper(
        national, metadata
    ) if metadata is not None else PhoneNumberType.UNKNOWN


@lru_cache(maxsize=PHONE_FACTS_CACHE_SIZE)
def _phone_region(phone: str) -> str:
    return _phone_kind(phone)[0]


@lru_cache(maxsize=PHONE_FACTS_CACHE_SIZE)
def _phone_zones(phone: str) -> tuple[str, ...]:
    # Only asked for a recipient without a zone of their own. What ``time_zones_for_number``
    # answers, from the type already known (it would match the number twice more).
    number = _phone_number(phone)
    if number is None:
        return ()
    kind, code = _phone_kind(phone)[1], number.country_code
    if kind == PhoneNumberType.UNKNOWN or code is None:  # (no calling code: no type either)
        zones = _UNKNOWN_TIME_ZONE_LIST
    elif not phonenumbers.is_number_type_geographical(kind, code):
        zones = _country_level_time_zones_for_number(number)
    else:
        zones = phone_timezone.time_zones_for_geographical_number(number)
    return tuple(z for z in zones if "/" in z)


def phone_facts_forget() -> None:
    """Empty this process's phone facts caches (a profiler that accepted its messages in the
    process that then sends them: a worker has not seen those numbers)."""
    for cache in (_phone_number, _phone_kind, _phone_region, _phone_zones):
        cache.cache_clear()


def phone_valid(phone: str) -> bool:
    """Whether ``phone`` parses and is a valid number (what ``phonenumbers.is_valid_number``
    answers), from the per-process cache the compliance decision reads too."""
    return _phone_kind(phone)[1] != PhoneNumberType.UNKNOWN


def phone_parsed(phone: str) -> phonenumbers.PhoneNumber | None:
    """The parsed number (shared, from the per-process cache: never change it), or None if
    ``phone`` does not parse."""
    return _phone_number(phone)


def phone_country(phone: str) -> str:
    """ISO 3166 region of an E.164 number, or "" if unknown."""
    return _phone_region(phone) if phone else ""


def recipient_zones(*, timezone_name: str, phone: str, default: str) -> tuple[tuple[str, ...], str]:
    """The recipient's time zone(s) and where they came from: the contact's own zone, else
    every zone the phone number's region spans (a rule must hold in all of them), else the
    default."""
    if timezone_name:
        return (timezone_name,), "contact"
    if phone:
        zones = _phone_zones(phone)
        if zones:
            return zones, "phone"
    return (default,), "default"


def suppression_key_ids() -> set[str]:
    """The ids of the digest keys that stored suppressions were made with (lifted ones too:
    their history must stay findable)."""
    return set(Suppression.objects.order_by().values_list("key_id", flat=True).distinct())


# A fragment shorter than this cannot use the trigram indexes (contacts/0007): it must match an
# external id exactly instead of scanning every contact.
SEARCH_MIN_PARTIAL = 3
_PHONE_PUNCTUATION = str.maketrans("", "", " -().")


def contacts_search_filter(query: str) -> Q | None:
    """The filter behind ``contacts_matching``: None when ``query`` is blank."""
    text = query.strip()
    if not text:
        return None
    if len(text) < SEARCH_MIN_PARTIAL:
        return Q(external_id=text)
    phone = text.translate(_PHONE_PUNCTUATION)
    return (
        Q(external_id__icontains=text)
        | Q(email__icontains=text)
        | Q(phone__icontains=phone or text)
        | Q(attributes__name__icontains=text)
    )


def contacts_matching(query: str, *, limit: int = 50) -> QuerySet[Contact]:
    """Up to ``limit`` contacts whose external id, email, phone or ``attributes.name`` contains
    ``query``, in any case: what support types ("ada", "7911 123", "@example"). Phone fragments
    match with their spaces, dashes and brackets left out. A fragment shorter than three
    characters matches an external id exactly; a whole external id finds just that contact. Indexed for a million contacts on PostgreSQL
    (trigram indexes, contacts/0007). Unordered on purpose: ordering by external id would let the
    planner walk that index and filter every contact; callers order the page they get."""
    matches = contacts_search_filter(query)
    if matches is None:
        return Contact.objects.none()
    exact = Contact.objects.filter(external_id=query.strip()).order_by()
    if exact.exists():  # a whole id, pasted: that contact, from the unique index
        return exact
    return Contact.objects.filter(matches).order_by()[:limit]


# A segment form offers the attributes seen on the newest contacts (a bounded read of the
# primary key's index), and checks a typed name and its values against contacts that have it
# (``attributes ? name``, answered by the GIN index of contacts/0009 on PostgreSQL).
ATTRIBUTE_SAMPLE = 500
KIND_SAMPLE = 50


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "list" if isinstance(value, list) else "object"


def contact_attribute_names(*, sample: int = ATTRIBUTE_SAMPLE) -> list[str]:
    """The attribute names of the newest ``sample`` contacts, sorted: suggestions, not a
    catalogue (an older contact's rare attribute is still accepted when typed)."""
    names: set[str] = set()
    for attributes in Contact.objects.order_by("-pk").values_list("attributes", flat=True)[:sample]:
        if isinstance(attributes, dict):
            names.update(attributes)
    return sorted(names)


def contact_attribute_kinds(name: str, *, sample: int = KIND_SAMPLE) -> set[str]:
    """What the attribute holds on (up to ``sample``) contacts that have it: "number", "text",
    "boolean", "list", "object". Empty: no contact has it."""
    values = (
        Contact.objects.filter(attributes__has_key=name)
        .order_by()
        .values_list(f"attributes__{name}", flat=True)[:sample]
    )
    return {_kind(value) for value in values}
