"""The company's name and colour on the pages the public sees (unsubscribe and preference pages,
link errors, 403/404/500 pages): ``HUB_BRAND_NAME`` and ``HUB_BRAND_COLOUR`` (docs/deploying.md)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def brand_colour_checked(value: str) -> str:
    """``value`` if it is a ``#rrggbb`` colour; refuses anything else (it is written into CSS)."""
    if not COLOUR.fullmatch(value):
        raise ImproperlyConfigured(f"HUB_BRAND_COLOUR must be a colour like #1d4ed8, not {value!r}.")
    return value


def brand(request: HttpRequest) -> dict[str, str]:
    """Template context processor."""
    return {"brand_name": settings.HUB_BRAND_NAME, "brand_colour": settings.HUB_BRAND_COLOUR}
