"""GOV.UK Notify templates as an import document, so ``import_templates`` takes them as they
are: the JSON of Notify's ``GET /v2/templates`` (``{"templates": [...]}``) or of one
``GET /v2/template/{id}``.

Each becomes a template keeping Notify's id as its UUID (so code that names templates by id
keeps working), with its body in Notify's syntax (rendered as such here) and a required text
variable per placeholder. Like every import, each arrives as a draft that compliance must
approve; Notify has no categories, so they are ``transactional`` unless the caller says
otherwise."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from templates_app.rendering.notify_syntax import notify_placeholder_names

NOTIFY_TYPES = ("sms", "email")


def is_notify_document(document: Any) -> bool:
    """Whether ``document`` is Notify's template JSON rather than our export format."""
    if not isinstance(document, Mapping) or "format" in document:
        return False
    if "templates" in document:
        items = document["templates"]
        return isinstance(items, list) and all(isinstance(t, Mapping) and "type" in t for t in items)
    return "type" in document and "body" in document


def _key(name: str, template_id: str, taken: set[str]) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")[:80] or "template"
    key = slug if slug not in taken else f"{slug}-{template_id[:8]}"
    taken.add(key)
    return key


def _email_html(body: str) -> str:
    # Notify's email bodies are plain text with blank lines between paragraphs.
    paragraphs = [p for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def notify_templates_as_document(
    document: Mapping[str, Any], *, category: str = "transactional"
) -> dict[str, Any]:
    """Our import document (``switchboard.templates/1``) for Notify's template JSON. Letter
    templates are left out (they are not a channel here); the caller sees them as problems."""
    from templates_app.models import Template
    from templates_app.services.transfer import FORMAT

    items = document.get("templates", [document])
    taken: set[str] = set()
    templates: list[dict[str, Any]] = []
    skipped: list[str] = []
    for item in items:
        kind = item.get("type")
        template_id = str(item.get("id", ""))
        name = str(item.get("name") or template_id or "template")
        if kind not in NOTIFY_TYPES:
            skipped.append(f"{name}: Notify {kind} templates cannot be imported (no letters here).")
            continue
        existing = (
            Template.objects.filter(uuid=template_id).values_list("key", flat=True).first()
            if template_id
            else None
        )
        key = existing or _key(name, template_id, taken)
        body = str(item.get("body") or "")
        subject = str(item.get("subject") or "")
        sources = [body, subject]
        variables = [
            {"name": n, "type": "string", "required": True, "example": n.replace("_", " ").title()}
            for n in notify_placeholder_names(" ".join(sources))
        ]
        variant: dict[str, Any] = {"channel": kind, "locale": "en", "text": body}
        if kind == "email":
            variant |= {"subject": subject, "html": _email_html(body)}
        templates.append(
            {
                "key": key,
                "uuid": template_id or None,
                "name": name[:200],
                "description": f"Imported from GOV.UK Notify (template {template_id}, version {item.get('version')}).",
                "category": category,
                "default_locale": "en",
                "content": {"layout": None, "variants": [variant], "variables": variables},
            }
        )
    return {"format": FORMAT, "layouts": [], "templates": templates, "skipped": skipped}
