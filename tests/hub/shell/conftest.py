"""The headless Chromium of the templates admin's browser tests."""

from tests.templates_app.admin.conftest import browser  # noqa: F401 - fixture
