"""What an API key may do: its capabilities (``read``, ``send``, ``contacts:write``).

Reads need ``read`` or ``send`` (a sending service follows what it sent). A write needs the
view's ``required_capability``: ``send`` by default, ``contacts:write`` under ``/contacts``.
Which templates a key may send is checked where the template is known (the services).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_has_capability


def required_capability(request: Request, view: Any) -> str:
    declared = getattr(view, "required_capability", None)
    if declared:
        return str(declared)
    return "contacts:write" if "/contacts" in request.path else "send"


class ApiKeyScopes(BasePermission):
    message = "This API key's scopes do not allow this request."

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True  # authentication (IsAuthenticated) decides
        if request.method in SAFE_METHODS:
            return any(apikey_has_capability(api_key=api_key, capability=c) for c in ("read", "send"))
        capability = required_capability(request, view)
        if apikey_has_capability(api_key=api_key, capability=capability):
            return True
        self.message = f"This API key may not do this: it lacks the '{capability}' scope."
        return False
