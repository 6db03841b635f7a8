"""The client's address behind trusted proxies, as `request.remote_addr` (and rate limits) see it.

A proxy appends the address it received the request from to X-Forwarded-For. Only a proxy
named in FORWARDED_ALLOW_IPS (the variable gunicorn reads for X-Forwarded-Proto) is believed:
the client is the right-most address that is not itself a trusted proxy. Anything further left
was written by the client and may be made up. "*" trusts the direct peer only (whoever it is,
it is taken to be the proxy), so the client is the right-most entry. An entry that is not an
address ends the walk: the hop to its right (or the peer) is the client. Ports are dropped
(`203.0.113.7:5678`, `[2001:db8::1]:443`). werkzeug's ProxyFix trusts a fixed number of hops
whoever sent the request, so this middleware asks who the peer is first.
"""

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def trusted_networks(setting: str) -> list[Network] | None:
    """FORWARDED_ALLOW_IPS as networks; None for "*" (the direct peer is a trusted proxy)."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    if "*" in entries:
        return None
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def parse_address(entry: str) -> Address | None:
    """An X-Forwarded-For entry as an address, without its port; None if it is not one."""
    host = entry.strip()
    if host.startswith("["):  # [2001:db8::1] or [2001:db8::1]:443
        host, bracket, _port = host[1:].partition("]")
        if not bracket:
            return None
    elif host.count(":") == 1:  # 203.0.113.7:5678
        host = host.partition(":")[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class TrustedProxyMiddleware:
    def __init__(self, wsgi_app: "WSGIApplication", trusted: list[Network] | None) -> None:
        self.wsgi_app = wsgi_app
        self.trusted = trusted

    def is_trusted_peer(self, peer: str) -> bool:
        if self.trusted is None:
            return True
        ip = parse_address(peer)
        return ip is not None and self.is_trusted_hop(ip)

    def is_trusted_hop(self, ip: Address) -> bool:
        """With "*" no hop is trusted: only the direct peer is."""
        return self.trusted is not None and any(ip in network for network in self.trusted)

    def client_address(self, peer: str, forwarded_for: str) -> str:
        if not forwarded_for or not self.is_trusted_peer(peer):
            return peer
        client = peer
        for hop in reversed(forwarded_for.split(",")):
            ip = parse_address(hop)
            if ip is None:
                break
            client = str(ip)
            if not self.is_trusted_hop(ip):
                break
        return client

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        environ["REMOTE_ADDR"] = self.client_address(peer, environ.get("HTTP_X_FORWARDED_FOR", ""))
        return self.wsgi_app(environ, start_response)


def rate_limit_key() -> str:
    """Per-client limits' key: the client's address, or an IPv6 client's /64 network (one
    subscriber usually holds a whole /64, and could otherwise take a fresh address per try)."""
    address = request.remote_addr or "127.0.0.1"
    ip = parse_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return address


def init_app(app: Flask) -> None:
    trusted = trusted_networks(app.config["FORWARDED_ALLOW_IPS"])
    app.wsgi_app = TrustedProxyMiddleware(app.wsgi_app, trusted)  # type: ignore[method-assign]
