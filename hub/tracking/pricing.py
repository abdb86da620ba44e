"""The one price source for what a message costs.

A provider's reported price wins where it gives one (Twilio's Message resource, fetched
after the final status: ``hub.tracking.prices``); otherwise the price table in admin
(:class:`~hub.tracking.models.Price`): per channel and country prefix (longest match), per SMS
segment or per message. With no row for SMS at all, ``HUB_SMS_COST_PER_SEGMENT`` is the price
of a segment everywhere (the setting older deployments used). The template lint's estimate
(``TEMPLATES_SMS_PRICE`` points at :func:`sms_segment_estimate`) and the reports' cost both
come from :class:`PriceBook`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from hub.tracking.models import Price, PriceUnit

DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class Rate:
    price: Decimal
    unit: str
    currency: str


class PriceBook:
    """The price table read once (a few rows), answering per message."""

    def __init__(self, rows: list[Price]) -> None:
        self.rates: dict[str, dict[str, Rate]] = {}
        for row in rows:
            self.rates.setdefault(row.channel, {})[row.country_prefix] = Rate(
                row.price, row.unit, row.currency
            )
        self.fallback = Rate(
            Decimal(str(getattr(settings, "HUB_SMS_COST_PER_SEGMENT", "0") or "0")),
            PriceUnit.SEGMENT,
            self.currency_default(),
        )

    def currency_default(self) -> str:
        for rates in self.rates.values():
            for rate in rates.values():
                return rate.currency
        return DEFAULT_CURRENCY

    def rate(self, *, channel: str, to: str = "") -> Rate | None:
        """The rate for ``to`` (an E.164 number for SMS): the longest matching prefix, else
        the channel's default row (empty prefix), else for SMS the fallback setting."""
        rates = self.rates.get(channel)
        if not rates:
            return self.fallback if channel == "sms" else None
        digits = to[1:] if to.startswith("+") else ""
        for length in range(min(len(digits), 8), 0, -1):
            if (rate := rates.get(digits[:length])) is not None:
                return rate
        return rates.get("")

    def cost(self, *, channel: str, to: str = "", segments: int = 0) -> Decimal:
        """What one message costs by the table (0 where nothing is priced). An SMS with no
        counted segments (its text already purged) is priced as one."""
        rate = self.rate(channel=channel, to=to)
        if rate is None:
            return Decimal(0)
        if channel == "sms" and rate.unit == PriceUnit.SEGMENT:
            return rate.price * max(segments, 1)
        return rate.price


def price_book() -> PriceBook:
    return PriceBook(list(Price.objects.all()))


def sms_segment_estimate() -> tuple[Decimal, str]:
    """The lint's and preview's SMS price (``TEMPLATES_SMS_PRICE``): the table's default SMS
    row (or the fallback setting), per segment."""
    rate = price_book().rate(channel="sms")
    if rate is None:
        return Decimal(0), DEFAULT_CURRENCY
    return rate.price, rate.currency
