"""The client's address behind trusted proxies, as `request.remote_addr` (and rate limits) see it.

A proxy appends the address it received the request from to X-Forwarded-For. Only a proxy
named in FORWARDED_ALLOW_IPS (the variable gunicorn reads for X-Forwarded-Proto) is believed:
the client is the right-most address that is not itself a trusted proxy. Anything further left
was written by the client and may be made up. werkzeug's ProxyFix trusts a fixed number of hops
whoever sent the request, so this middleware asks who the peer is first.
"""

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(setting: str) -> list[Network] | None:
    """FORWARDED_ALLOW_IPS as networks; None for "*" (every peer is a trusted proxy)."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    if "*" in entries:
        return None
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


class TrustedProxyMiddleware:
    def __init__(self, wsgi_app: "WSGIApplication", trusted: list[Network] | None) -> None:
        self.wsgi_app = wsgi_app
        self.trusted = trusted

    def is_trusted(self, address: str) -> bool:
        if self.trusted is None:
            return True
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def client_address(self, peer: str, forwarded_for: str) -> str:
        if not forwarded_for or not self.is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        return hops[0] if hops else peer

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        environ["REMOTE_ADDR"] = self.client_address(peer, environ.get("HTTP_X_FORWARDED_FOR", ""))
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    trusted = trusted_networks(app.config["FORWARDED_ALLOW_IPS"])
    app.wsgi_app = TrustedProxyMiddleware(app.wsgi_app, trusted)  # type: ignore[method-assign]
