"""The client's address (hub/client_address.py): REMOTE_ADDR unless proxies are declared, then
the entry the outermost declared proxy appended to X-Forwarded-For."""

from __future__ import annotations

from django.test import RequestFactory

from hub.client_address import client_address


def test_without_declared_proxies_the_header_is_ignored(settings):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    request = RequestFactory().get("/l/x", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="17.1.2.3")
    assert client_address(request) == "198.51.100.7"


def test_behind_two_proxies_the_second_entry_from_the_right(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    request = RequestFactory().get(
        "/l/x", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 17.1.2.3, 10.0.0.1"
    )
    assert client_address(request) == "17.1.2.3"


def test_the_address_is_read_without_copying_every_header(settings):
    """Issue 16: the API asks on every request; ``request.headers`` is not built for it."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    request = RequestFactory().get("/l/x", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 17.1.2.3")
    assert client_address(request) == "17.1.2.3"
    assert "headers" not in request.__dict__  # the cached property was never filled
    without = RequestFactory().get("/l/x", REMOTE_ADDR="10.0.0.2")
    assert client_address(without) == "10.0.0.2"
