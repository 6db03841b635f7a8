"""The client's address behind trusted proxies (config/proxy.py)."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from pytest_django import Settings

from config.proxy import ForwardedForMiddleware, TrustedProxies


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded_for", "client"),
    [
        (["127.0.0.1"], "127.0.0.1", "203.0.113.7", "203.0.113.7"),
        # What the client wrote itself (left of what the proxy appended) is ignored.
        (["127.0.0.1"], "127.0.0.1", "10.0.0.1, 203.0.113.7", "203.0.113.7"),
        # Behind two trusted proxies, the address the outer one saw.
        (["10.0.0.0/8", "127.0.0.1"], "127.0.0.1", "1.2.3.4, 203.0.113.7, 10.1.1.1", "203.0.113.7"),
        # "*" trusts any peer as a proxy, not what the client wrote: the right-most entry.
        (["*"], "192.0.2.1", "203.0.113.7, 198.51.100.2", "198.51.100.2"),
        (["*"], "192.0.2.1", "198.51.100.2", "198.51.100.2"),
        (["*"], "192.0.2.1", "203.0.113.7, garbage", "192.0.2.1"),
        (["*", "10.0.0.0/8"], "192.0.2.1", "203.0.113.7, 198.51.100.2, 10.1.1.1", "198.51.100.2"),
        # A peer that is not trusted: its header is ignored.
        (["127.0.0.1"], "192.0.2.1", "203.0.113.7", "192.0.2.1"),
        (["10.9.9.9"], "127.0.0.1", "203.0.113.7", "127.0.0.1"),
        # Garbage stops the walk at the last trusted proxy.
        (["127.0.0.1"], "127.0.0.1", "not-an-address", "127.0.0.1"),
        (["127.0.0.1"], "127.0.0.1", "2001:db8::1", "2001:db8::1"),
        # Proxies that add the client's port: the address without it.
        (["127.0.0.1"], "127.0.0.1", "203.0.113.7:5678", "203.0.113.7"),
        (["127.0.0.1"], "127.0.0.1", "[2001:db8::1]:443", "2001:db8::1"),
        (["127.0.0.1"], "127.0.0.1", "[2001:db8::1]", "2001:db8::1"),
        (["10.0.0.0/8", "127.0.0.1"], "127.0.0.1", "203.0.113.7, 10.1.1.1:80", "203.0.113.7"),
        # What comes left of an entry that is not an address is not believed.
        (["10.0.0.0/8", "127.0.0.1"], "127.0.0.1", "203.0.113.7, bad, 10.1.1.1", "10.1.1.1"),
    ],
)
def test_remote_addr_is_the_right_most_untrusted_address(
    settings: Settings, trusted: list[str], peer: str, forwarded_for: str, client: str
) -> None:
    settings.FORWARDED_ALLOW_IPS = trusted
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request.META["REMOTE_ADDR"])
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded_for)
    ForwardedForMiddleware(view)(request)

    assert seen == [client]


def test_trusted_proxies_are_read_like_gunicorn_reads_them() -> None:
    trusted = TrustedProxies(["127.0.0.1", " 10.0.0.0/8 "])

    assert "127.0.0.1" in trusted
    assert "10.20.30.40" in trusted
    assert "192.0.2.1" not in trusted
    assert "not-an-address" not in trusted
