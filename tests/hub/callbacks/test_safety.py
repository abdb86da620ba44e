"""Callback URLs cannot aim the hub inside: at itself, the company's private networks or the
cloud metadata service, in any encoding of an address (server-side request forgery).

The tests' settings allow 127.0.0.0/8 (the fake receivers live there); ``production`` puts back
the shipped defaults, so these tests check the blocklist an installation really has.
"""

from __future__ import annotations

import ipaddress
import socket

import psutil
import pytest
from django.test import override_settings
from django.utils import timezone

from bench.fakes.callbacks import start_fake_receiver
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint, DeliveryStatus
from hub.callbacks.safety import callback_url_problem
from hub.callbacks.services import callbacks_deliver
from hub.settings import HUB_CALLBACK_ALLOWED_NETWORKS as ALLOWED_DEFAULT
from hub.settings import HUB_CALLBACK_BLOCKED_NETWORKS as BLOCKED_DEFAULT

production = override_settings(
    HUB_CALLBACK_BLOCKED_NETWORKS=BLOCKED_DEFAULT, HUB_CALLBACK_ALLOWED_NETWORKS=ALLOWED_DEFAULT
)


@production
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost:8000/admin/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "ftp://cards.example.com/hook",
        "http://user:secret@10.0.0.5/hook",
        "http://no-such-host.invalid/hook",
        # RFC 1918, unique-local, CGNAT, reserved and site-local ranges.
        "http://10.0.0.5:8080/hooks",
        "http://172.16.3.4/hooks",
        "https://192.168.1.20/hooks",
        "http://[fd00::1]/h",
        "http://100.64.0.7/h",
        "http://240.0.0.1/h",
        "http://[fec0::1]/h",
        "http://[ff02::1]/h",
        # Cloud metadata services: AWS (IPv4 and IPv6), Azure, Alibaba.
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://168.63.129.16/metadata/instance",
        "http://100.100.100.200/latest/meta-data/",
        # The same inside addresses in IPv6 encodings that carry an IPv4 address.
        "http://[::a9fe:a9fe]/",  # IPv4-compatible 169.254.169.254
        "http://[::127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",  # IPv4-mapped
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 (RFC 6052) 169.254.169.254
        "http://[64:ff9b::a83f:8110]/",  # NAT64 168.63.129.16 (a global address otherwise)
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 (RFC 8215)
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 169.254.169.254
        "http://[2002:a83f:8110::1]/",  # 6to4 168.63.129.16
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1
        # Integer and short forms that resolvers turn into 127.0.0.1.
        "http://2130706433/",
        "http://127.1/",
        "http://0x7f.1/",
    ],
)
def test_refused_urls_name_the_reason(url):
    assert callback_url_problem(url)


@production
@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/hooks",
        "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hooks",
        "http://[64:ff9b::5db8:d70e]/hooks",  # NAT64 of a public address
    ],
)
def test_public_addresses_are_allowed(url):
    assert callback_url_problem(url) is None


def _own_addresses() -> list[str]:
    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6):
                found.append(address.address.split("%", 1)[0])
    return found


def test_this_hosts_own_interface_addresses_are_refused():
    with production:
        for address in _own_addresses():
            host = f"[{address}]" if ":" in address else address
            assert callback_url_problem(f"http://{host}:8000/") is not None, address


def test_this_hosts_addresses_are_refused_even_in_an_allowed_network():
    """An operator who allows every network still cannot send callbacks to this host's own
    (non-loopback) addresses, where its own services listen."""
    others = [a for a in _own_addresses() if not ipaddress.ip_address(a).is_loopback]
    if not others:
        pytest.skip("this host has only loopback interfaces")
    with override_settings(
        HUB_CALLBACK_BLOCKED_NETWORKS=BLOCKED_DEFAULT, HUB_CALLBACK_ALLOWED_NETWORKS=["0.0.0.0/0", "::/0"]
    ):
        for address in others:
            host = f"[{address}]" if ":" in address else address
            assert callback_url_problem(f"http://{host}:8000/") is not None, address


@production
def test_a_name_that_resolves_inside_is_refused(monkeypatch):
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "hooks.cards.example":
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:4700::1", 443, 0, 0)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443)),
            ]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    problem = callback_url_problem("https://hooks.cards.example/h")
    assert problem and "10.1.2.3" in problem


def test_an_operator_may_allow_a_private_network_but_never_the_metadata_services():
    with override_settings(
        HUB_CALLBACK_BLOCKED_NETWORKS=BLOCKED_DEFAULT,
        HUB_CALLBACK_ALLOWED_NETWORKS=["10.20.0.0/16", "169.254.0.0/16", "fd00::/8", "64:ff9b::/96"],
    ):
        assert callback_url_problem("http://10.20.1.2/hooks") is None
        assert callback_url_problem("http://10.21.1.2/hooks")
        assert callback_url_problem("http://169.254.169.254/")
        assert callback_url_problem("http://[fd00:ec2::254]/")
        assert callback_url_problem("http://[64:ff9b::a9fe:a9fe]/")


@production
def test_the_api_refuses_a_metadata_url_and_stores_nothing(authed_client):
    response = authed_client.put(
        "/api/v1/callback", {"url": "http://169.254.169.254/latest/meta-data/"}, format="json"
    )
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert "169.254.169.254" in str(response.json())
    assert not CallbackEndpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_url_that_became_unsafe_is_not_posted_to(authed_client):
    receiver = start_fake_receiver()
    try:
        response = authed_client.put("/api/v1/callback", {"url": f"{receiver.base_url}/h"}, format="json")
        assert response.status_code == 200
        endpoint = CallbackEndpoint.objects.get()
        delivery = CallbackDelivery.objects.create(
            endpoint=endpoint, events={"events": []}, next_attempt_at=timezone.now()
        )
        with production:  # e.g. the name now resolves to this host
            assert callbacks_deliver(delivery_ids=[delivery.id]) == 0
        delivery.refresh_from_db()
        assert receiver.calls == []
        assert delivery.status == DeliveryStatus.PENDING and "refused" in delivery.last_error
    finally:
        receiver.stop()
