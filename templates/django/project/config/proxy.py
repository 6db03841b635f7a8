"""The client's address behind trusted proxies, for everything that counts per client.

gunicorn believes X-Forwarded-Proto only from the proxies in FORWARDED_ALLOW_IPS; this middleware
applies the same rule to X-Forwarded-For. Without it, every request behind a load balancer comes
from the load balancer's address, and all clients share one throttling bucket.
"""

import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An X-Forwarded-For entry's address, without the port some proxies add
    (`203.0.113.7:5678`, `[2001:db8::1]:443`); None if it is not an address."""
    text = text.strip()
    if text.startswith("["):  # a bracketed IPv6 address, perhaps with a port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port (a bare IPv6 address has several colons)
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class TrustedProxies:
    """FORWARDED_ALLOW_IPS as gunicorn reads it: addresses or networks, or "*" for any peer."""

    def __init__(self, entries: Iterable[str]) -> None:
        entries = [entry.strip() for entry in entries if entry.strip()]
        self.any = "*" in entries
        self.networks: list[Network] = [
            ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*"
        ]

    def __contains__(self, address: str) -> bool:
        parsed = parse_address(address)
        if parsed is None:
            return False
        return self.any or any(parsed in network for network in self.networks)

    def is_proxy(self, address: str) -> bool:
        """A hop listed in FORWARDED_ALLOW_IPS by address or network ("*" names none: it trusts
        the direct peer, not what the client wrote)."""
        parsed = parse_address(address)
        return parsed is not None and any(parsed in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The right-most X-Forwarded-For address that is not a listed proxy. Each trusted
        proxy appends the address it saw, so only the entries right of the first unlisted one
        are reliable; what a client wrote further left is ignored. With "*", that is the
        right-most entry, the one the peer appended. An entry that is not an address stops the
        walk at the hop to its right (or the peer)."""
        client = peer
        for hop in reversed(forwarded_for.split(",")):
            parsed = parse_address(hop)
            if parsed is None:
                break
            client = str(parsed)
            if not self.is_proxy(client):
                break
        return client


class ForwardedForMiddleware:
    """Sets REMOTE_ADDR to the client's address when the direct peer is a trusted proxy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.trusted = TrustedProxies(settings.FORWARDED_ALLOW_IPS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        peer = request.META.get("REMOTE_ADDR", "")
        forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded_for and peer in self.trusted:
            request.META["REMOTE_ADDR"] = self.trusted.client(peer, forwarded_for)
        return self.get_response(request)
