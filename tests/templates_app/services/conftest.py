"""The staff and draft fixtures of the admin tests, for the service tests too."""

from tests.templates_app.admin.conftest import compliance, draft, marketer  # noqa: F401 - fixtures
