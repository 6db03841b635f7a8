"""HTTPS and security headers on every HTTP response, as plain ASGI middleware.

Browsers get told not to sniff content types, not to frame the service, and not to leak full
URLs to other sites. In production the service sits behind HTTPS (FORCE_HTTPS=false turns that
off, for a stack on your own machine): a plain-HTTP GET is redirected there, any other plain-HTTP
request is refused before it reaches a handler (its body has already crossed the network in the
clear), so is a plain ws:// WebSocket, and HSTS keeps browsers on HTTPS. The scheme is the one a
trusted proxy reports (gunicorn's FORWARDED_ALLOW_IPS). The health probes answer over plain
HTTP, so platforms can probe the container by its address.
"""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
PROBES = {"/health", "/health/ready"}
HTTPS_REQUIRED = json.dumps(
    {"code": "https_required", "message": "Use HTTPS", "details": []}
).encode()


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, https_only: bool, hsts: bool) -> None:
        self.app = app
        self.https_only = https_only
        self.headers = [*SECURITY_HEADERS, *([HSTS] if hsts else [])]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and self.https_only and scope["scheme"] != "wss":
            await receive()  # the connect event; closing before accepting refuses the handshake
            await send({"type": "websocket.close", "code": 1008, "reason": "Use wss://"})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.https_only and scope["scheme"] != "https" and scope["path"] not in PROBES:
            await self.refuse_plain_http(scope, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def refuse_plain_http(self, scope: Scope, send: Send) -> None:
        status, headers, body = 403, [(b"content-type", b"application/json")], HTTPS_REQUIRED
        if scope["method"] in ("GET", "HEAD"):
            host = dict(scope["headers"]).get(b"host", b"")
            path = scope.get("raw_path") or scope["path"].encode()
            query = b"?" + scope["query_string"] if scope["query_string"] else b""
            status, headers, body = 301, [(b"location", b"https://" + host + path + query)], b""
        await send(
            {"type": "http.response.start", "status": status, "headers": headers + self.headers}
        )
        await send({"type": "http.response.body", "body": body})
