"""What an API key may do: its capabilities (SPEC §4: ``read``, ``send``, ``contacts:read``,
``contacts:write``, ``contacts:erase``).

A view may declare ``required_capability``: one capability for every method, or a mapping
from method to capability (the contacts views: reading, changing and erasing are separate
scopes). Where a view declares nothing, reads need ``read`` or ``send`` (a sending service
follows what it sent) and writes need ``send``. Which templates a key may send is checked
where the template is known (the services).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_has_capability

# Any one of these is enough for a read on a view that declares no capability.
READ_CAPABILITIES = ("read", "send")


def required_capability(request: Request, view: Any) -> str | None:
    """The one capability this request needs, or None where the read rule applies."""
    declared = getattr(view, "required_capability", None)
    if isinstance(declared, Mapping):
        # HEAD is a GET without the body; a method the view does not list gets the default rule.
        declared = declared.get("GET" if request.method == "HEAD" else request.method)
    if declared:
        return str(declared)
    return None if request.method in SAFE_METHODS else "send"


SCOPES_REFUSED = "This API key's scopes do not allow this request."


def scopes_refusal(request: Request, view: Any, *, api_key: ApiKey) -> str | None:
    """Why ``api_key``'s scopes refuse this request to ``view``, or None if they allow it."""
    capability = required_capability(request, view)
    if capability is None:
        if any(apikey_has_capability(api_key=api_key, capability=c) for c in READ_CAPABILITIES):
            return None
        return SCOPES_REFUSED
    if apikey_has_capability(api_key=api_key, capability=capability):
        return None
    return f"This API key may not do this: it lacks the '{capability}' scope."


class ApiKeyScopes(BasePermission):
    message = SCOPES_REFUSED

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True  # authentication (IsAuthenticated) decides
        refusal = scopes_refusal(request, view, api_key=api_key)
        if refusal is None:
            return True
        self.message = refusal
        return False
