"""Where a status callback may be sent: only to public addresses (server-side request forgery).

A callback URL's host is resolved once; every address it has is checked, and the POST then goes
to exactly the address that was checked (``hub.callbacks.sender``), so a name cannot answer one
address to the check and another to the connection (DNS rebinding).

An address is refused when it, or the IPv4 address carried inside it (IPv4-mapped and
-compatible, NAT64, 6to4, Teredo), is

- in ``HUB_CALLBACK_BLOCKED_NETWORKS`` (cloud metadata services, link-local), or one of this
  host's own interface addresses other than loopback: always;
- not a global unicast address (private, loopback, unique-local, CGNAT, reserved, unspecified,
  multicast, site-local...): unless its network is in ``HUB_CALLBACK_ALLOWED_NETWORKS``.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil
from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# NAT64 prefixes (RFC 6052 well-known, RFC 8215 local-use) that carry an IPv4 address in their
# last 32 bits. Local-use translators reach only what the operator's network routes: that
# prefix is non-global whatever it carries.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_LOCAL_USE_NAT64 = _NAT64[1]


class CallbackRefused(Exception):
    """The URL may not receive callbacks; the message says why (for the caller)."""


@dataclass(frozen=True)
class CallbackTarget:
    """A checked callback URL: the POST goes to ``address`` and names ``host`` (Host header,
    TLS server name and certificate check)."""

    scheme: str
    host: str
    port: int
    path: str
    address: Address

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _networks(names: list[str]) -> list[Network]:
    return [ipaddress.ip_network(n, strict=False) for n in names]


def _embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, for a translator or tunnel to reach."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    number = int(address)
    if number >> 32 == 0 and number > 1:  # IPv4-compatible ::a.b.c.d (deprecated, still routed)
        found.append(ipaddress.IPv4Address(number))
    if any(address in prefix for prefix in _NAT64):
        found.append(ipaddress.IPv4Address(number & 0xFFFFFFFF))
    return found


def own_addresses() -> set[Address]:
    """This host's interface addresses (read each time: interfaces come and go)."""
    found: set[Address] = set()
    for interface in psutil.net_if_addrs().values():
        for entry in interface:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found.add(ipaddress.ip_address(entry.address.split("%", 1)[0]))
    return found


def _is_public(address: Address) -> bool:
    if address.is_multicast or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv6Address) and (address.is_site_local or address in _LOCAL_USE_NAT64):
        return False
    return address.is_global


def address_problem(address: Address, *, own: set[Address] | None = None) -> str | None:
    """Why callbacks may not go to ``address``, or None when they may."""
    blocked = _networks(settings.HUB_CALLBACK_BLOCKED_NETWORKS)
    allowed = _networks(settings.HUB_CALLBACK_ALLOWED_NETWORKS)
    own = own_addresses() if own is None else own
    for candidate in (address, *_embedded_ipv4(address)):
        shown = str(candidate) if candidate == address else f"{candidate} (inside {address})"
        for network in blocked:
            if candidate.version == network.version and candidate in network:
                return f"points at {shown}, in {network}: a cloud metadata or link-local network"
        if candidate in own and not candidate.is_loopback:
            return f"points at {shown}, an address of this host"
        if _is_public(candidate) or (candidate == address and address in _NAT64[0]):
            continue  # a well-known NAT64 address is as public as the IPv4 address inside it
        if any(candidate.version == n.version and candidate in n for n in allowed):
            continue
        return f"points at {shown}, which is not a public address"
    return None


def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def callback_target(url: str) -> CallbackTarget:
    """Resolve ``url``'s host once and check every address; the target to connect to.

    Raises CallbackRefused when the URL is malformed, does not resolve, or any address it
    resolves to is refused (one inside address is enough: a resolver may answer in any order).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise CallbackRefused("must be an http or https URL")
    if parts.username or parts.password:
        raise CallbackRefused("must not carry a user name or password")
    host = parts.hostname or ""
    if not host:
        raise CallbackRefused("must name a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise CallbackRefused("has an invalid port") from None
    addresses = _resolve(host, port)
    if not addresses:
        raise CallbackRefused(f"names a host that does not resolve: {host}")
    own = own_addresses()
    for address in addresses:
        if (problem := address_problem(address, own=own)) is not None:
            raise CallbackRefused(problem)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return CallbackTarget(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])


def callback_url_problem(url: str) -> str | None:
    """Why status events may not be POSTed to ``url``, or None when they may."""
    try:
        callback_target(url)
    except CallbackRefused as refused:
        return str(refused)
    return None


def validate_callback_url(value: str) -> None:
    """Form and serializer validator: a ValidationError saying why ``value`` is refused."""
    from django.core.exceptions import ValidationError

    problem = callback_url_problem(value)
    if problem is not None:
        raise ValidationError(f"This callback URL {problem}.", code="callback_url")
