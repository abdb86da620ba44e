"""A key's scopes as a person chooses them (capabilities, send limits) and back."""

from __future__ import annotations

import pytest

from hub.apikeys.models import ApiKey
from hub.apikeys.services import (
    InvalidScope,
    ScopeChoices,
    apikey_capabilities,
    scopes_choices,
    scopes_compose,
)


class TestChoices:
    """Scopes as a person chooses them (the admin form) and back: one rule, in the services."""

    @pytest.mark.parametrize(
        "scopes",
        [[], ["send"], ["read", "events"], ["send", "category:marketing", "template:a.b"], ["template:a.b"]],
    )
    def test_choices_compose_back_to_keys_that_grant_the_same(self, scopes):
        again = scopes_compose(scopes_choices(scopes))
        before, after = ApiKey(scopes=scopes), ApiKey(scopes=again)
        assert apikey_capabilities(api_key=before) == apikey_capabilities(api_key=after)
        assert sorted(s for s in again if ":" in s and s.split(":")[0] in {"category", "template"}) == sorted(
            s for s in scopes if s.startswith(("category:", "template:"))
        )

    def test_limits_without_send_are_refused(self):
        with pytest.raises(InvalidScope, match="'send' capability"):
            scopes_compose(ScopeChoices(capabilities=("read",), templates=("a.b",)))
