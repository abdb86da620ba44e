"""Where a status callback may be sent: never to this host, the cloud metadata service or other
link-local, unspecified or multicast addresses (server-side request forgery).

Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) stay allowed: the calling services are the
company's own. The blocked networks are ``HUB_CALLBACK_BLOCKED_NETWORKS``. A host name is
resolved and every address it has is checked, at registration and again before each delivery
(the name may point elsewhere by then).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _blocked_networks() -> list[Network]:
    return [ipaddress.ip_network(n, strict=False) for n in settings.HUB_CALLBACK_BLOCKED_NETWORKS]


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [_unmapped(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return [_unmapped(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])) for info in infos]


def callback_url_problem(url: str) -> str | None:
    """Why status events may not be POSTed to ``url``, or None when they may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    host = parts.hostname or ""
    if not host:
        return "must name a host"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "has an invalid port"
    addresses = _addresses(host, port)
    if not addresses:
        return f"names a host that does not resolve: {host}"
    blocked = _blocked_networks()
    for address in addresses:
        for network in blocked:
            if address.version == network.version and address in network:
                return (
                    f"points at {address}, in {network}, where callbacks are not allowed "
                    "(this host, link-local/cloud metadata, unspecified or multicast addresses)"
                )
    return None


def validate_callback_url(value: str) -> None:
    """Form and serializer validator: a ValidationError saying why ``value`` is refused."""
    from django.core.exceptions import ValidationError

    problem = callback_url_problem(value)
    if problem is not None:
        raise ValidationError(f"This callback URL {problem}.", code="callback_url")
