"""GOV.UK Notify's placeholder syntax, so Notify templates work here as they are written.

``((first name))`` is a placeholder and ``((show_offer??Offer ends Friday.))`` shows its text
only when the value is yes/true. Notify matches names ignoring case, spaces and dashes; here a
Notify name becomes our variable name (lower case, spaces and dashes as ``_``: ``((First
name))`` is ``first_name``), and the content is rewritten into the sandbox's own syntax before
it is parsed, so rendering, the sandbox's limits and the used-variable checks all apply
unchanged. A ``((`` that is not followed by a name (``((0800))``) is left as it is."""

from __future__ import annotations

import re
from functools import lru_cache

_PLACEHOLDER = re.compile(r"\(\(\s*([A-Za-z][A-Za-z0-9 _-]*?)\s*(?:\?\?(.*?))?\)\)", re.DOTALL)
_ENDRAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
# Notify shows conditional text for these values (any case).
YES_VALUES = ("yes", "y", "true", "t", "1")


def notify_variable_name(name: str) -> str:
    """Our variable name for a Notify placeholder name: ``First Name`` → ``first_name``."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def _replacement(match: re.Match[str]) -> str:
    name = notify_variable_name(match.group(1))
    conditional = match.group(2)
    if conditional is None:
        return "{{ " + name + " }}"
    text = _ENDRAW.sub("", conditional)  # the text is shown as written, never run
    yes = ", ".join(f'"{v}"' for v in YES_VALUES)
    return "{% if (" + name + "|string|lower) in (" + yes + ") %}{% raw %}" + text + "{% endraw %}{% endif %}"


@lru_cache(maxsize=4096)
def notify_to_jinja(source: str) -> str:
    """``source`` with Notify placeholders rewritten (unchanged if it has none)."""
    if "((" not in source:
        return source
    return _PLACEHOLDER.sub(_replacement, source)


def notify_placeholder_names(source: str) -> list[str]:
    """Our variable names for the Notify placeholders in ``source``, in order of appearance."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(source):
        name = notify_variable_name(match.group(1))
        if name not in names:
            names.append(name)
    return names
