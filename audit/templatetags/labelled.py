"""``{{ value|labelled }}``: a JSON value as labelled rows (``audit.admin_base.labelled_rows``)
in a custom admin page, so a person never reads raw JSON or a Python dict there."""

from __future__ import annotations

from collections.abc import Mapping

from django import template
from django.utils.safestring import SafeString

from audit.admin_base import labelled_rows

register = template.Library()


@register.filter
def labelled(value: object) -> SafeString:
    return labelled_rows(value if isinstance(value, Mapping) else {"value": value})
