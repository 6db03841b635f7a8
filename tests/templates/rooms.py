"""The FastAPI template's WebSocket rooms, proven against the production server of the image.

One member's trouble stays theirs: a member who sends a binary frame, text that is not UTF-8 or
a message over the size bound is closed (1003, 1007, 1009) and the others keep talking; a member
who stops reading is dropped within a bound while the others get every message at once; with
auth=jwt, a socket without a valid bearer token is refused. Two instances of the image (one
worker each, sharing the README's REDIS_URL) share a room: a message reaches a member on the
other instance within a bound.

The repository's environment has no WebSocket client library, so `Peer` speaks RFC 6455 over a
plain socket: that also lets it send what no library sends (invalid UTF-8 in a text frame) and
stop reading without closing.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import struct
import time
from contextlib import ExitStack, closing, suppress
from pathlib import Path
from urllib.parse import urlsplit

from tests.templates.as_run import (
    HTTPS,
    Deployer,
    Image,
    record_fault,
    serving_as_documented,
)

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
# The template's defaults (WEBSOCKET_MAX_MESSAGE_BYTES, WEBSOCKET_SEND_TIMEOUT).
MAX_MESSAGE_BYTES = 64 * 1024
SEND_TIMEOUT = 5
# What a message may take to reach a member who reads, while another member does not.
DELIVERY_BOUND = 2.0
# What it may take the server to close a member who broke a rule.
CLOSE_BOUND = 3.0
# What it may take to drop a member who stopped reading: the send timeout, and slack.
DROP_BOUND = SEND_TIMEOUT + 5.0


class Refused(Exception):
    """The server answered the handshake with something other than 101."""

    def __init__(self, status: int) -> None:
        super().__init__(f"handshake answered {status}")
        self.status = status


class Closed(Exception):
    """The server closed the connection: with a close frame (its code), or without (None)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"closed with {code}")
        self.code = code


class Peer:
    """A WebSocket client over a plain socket, behind the TLS proxy (X-Forwarded-Proto)."""

    def __init__(
        self,
        base_url: str,
        path: str,
        subprotocols: list[str] | None = None,
        receive_buffer: int | None = None,
    ) -> None:
        url = urlsplit(base_url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:  # before connecting, so the window the server sees is small too
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(5)
        self.sock.connect((url.hostname or "127.0.0.1", url.port or 80))
        self.buffer = b""
        self.subprotocol: str | None = None
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {url.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in HTTPS.items()),
            *([f"Sec-WebSocket-Protocol: {', '.join(subprotocols)}"] if subprotocols else []),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Refused(0)
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        if status != 101:
            self.sock.close()
            raise Refused(status)
        headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
        self.subprotocol = headers.get("sec-websocket-protocol")

    def close(self) -> None:
        self.sock.close()

    def send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        with suppress(OSError):  # the server may close while a large frame is still going out
            self.sock.sendall(header + mask + masked)

    def send_text(self, text: str) -> None:
        self.send_frame(TEXT, text.encode())

    def _read(self, size: int, deadline: float) -> bytes:
        while len(self.buffer) < size:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed(None)
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def receive(self, timeout: float) -> str:
        """The next text message; pings are answered. Raises Closed, or TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            first, second = self._read(2, deadline)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2, deadline))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8, deadline))
            payload = self._read(length, deadline)
            opcode = first & 0x0F
            if opcode == CLOSE:
                raise Closed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
            if opcode == PING:
                self.send_frame(PONG, payload)
            elif opcode == TEXT:
                return payload.decode()

    def receive_json(self, timeout: float = DELIVERY_BOUND) -> object:
        return json.loads(self.receive(timeout))

    def closed_with(self, timeout: float) -> tuple[int | None, float]:
        """Read until the server closes: (close code or None, seconds it took)."""
        started_at = time.monotonic()
        try:
            while True:
                self.receive(timeout - (time.monotonic() - started_at))
        except Closed as closed:
            return closed.code, round(time.monotonic() - started_at, 2)
        except TimeoutError:
            return -1, round(time.monotonic() - started_at, 2)  # still open


def room_path(room: str) -> str:
    return f"/ws/rooms/{room}"


def check_rooms(base_url: str, auth_token: str | None) -> dict[str, tuple[int | None, float]]:
    """Against a running server with one worker (rooms shared through Redis are
    `check_rooms_across_instances`'s): malformed and oversized messages close only their
    sender, a member who stops reading is dropped without holding up the others, and with
    `auth_token` (auth=jwt) a socket without one is refused. Returns {case: (close code or
    handshake status, seconds)} and records the rows."""
    protocols = ["bearer", auth_token] if auth_token else None
    room = f"room-{secrets.token_hex(4)}"
    measured: dict[str, tuple[int | None, float]] = {}

    def record(case: str, code: int | None, seconds: float) -> None:
        measured[case] = (code, seconds)
        record_fault("websocket rooms", case, code or 0, seconds)

    with ExitStack() as stack:

        def join() -> Peer:
            peer = Peer(base_url, room_path(room), protocols)
            stack.callback(peer.close)
            if auth_token:
                assert peer.subprotocol == "bearer", peer.subprotocol  # never the token itself
            return peer

        bob, carol = join(), join()

        def still_works(after: str) -> None:
            text = f"after {after}"
            carol.send_text(text)
            assert bob.receive_json() == {"room": room, "text": text}, after
            assert carol.receive_json() == {"room": room, "text": text}, after

        still_works("joining")
        too_big = "x" * (MAX_MESSAGE_BYTES + 1)
        for case, opcode, payload, expected in [
            ("binary frame", BINARY, b"\x00\x01binary", 1003),
            ("text that is not UTF-8", TEXT, b"caf\xc3(", 1007),
            ("message over the size bound", TEXT, too_big.encode(), 1009),
        ]:
            mallory = join()
            mallory.send_frame(opcode, payload)
            code, seconds = mallory.closed_with(CLOSE_BOUND)
            record(case, code, seconds)
            assert code == expected, (case, code)
            still_works(case)

        # A member whose machine stops reading: its window fills, the server's sends to it block.
        erin = Peer(base_url, room_path(room), protocols, receive_buffer=4096)
        stack.callback(erin.close)
        text = "y" * (MAX_MESSAGE_BYTES // 2)
        slowest, started_at, sent = 0.0, time.monotonic(), 0
        while time.monotonic() - started_at < DROP_BOUND and sent < 400:
            sent_at = time.monotonic()
            carol.send_text(text)
            assert bob.receive_json() == {"room": room, "text": text}, f"message {sent}"
            slowest = max(slowest, time.monotonic() - sent_at)
            carol.receive_json()
            sent += 1
        record("slowest broadcast while a member stops reading", 200, round(slowest, 2))
        assert slowest < DELIVERY_BOUND, slowest
        # Far more than her socket's buffers and her outbox hold: the server dropped her. Reading
        # now, she gets what the buffers held, then the end of the connection.
        started_at, received, ended = time.monotonic(), 0, "still open"
        try:
            while True:
                erin.receive(DROP_BOUND)
                received += 1
        except Closed:
            ended = "closed"
        except TimeoutError:
            pass  # still open
        seconds = round(time.monotonic() - started_at, 2)
        record("member who stopped reading is dropped", 0 if ended == "closed" else -1, seconds)
        assert ended == "closed" and received < sent, (ended, received, sent)
        still_works("dropping a member who stopped reading")

    for case, path, offered in [
        ("room name over the bound", room_path("r" * 200), protocols),
        *(
            [
                ("no token", room_path(room), None),
                ("forged token", room_path(room), ["bearer", auth_token[:-4] + "AAAA"]),
            ]
            if auth_token
            else []
        ),
    ]:
        started_at = time.monotonic()
        status = 101
        try:
            with closing(Peer(base_url, path, offered)) as peer:
                code, _ = peer.closed_with(CLOSE_BOUND)
                status = code or 0
        except Refused as refused:
            status = refused.status
        record(case, status, round(time.monotonic() - started_at, 2))
        assert status in (403, 1008), (case, status)  # refused at the handshake, or closed 1008
    print(f"websocket rooms: {measured}")  # for the record, with pytest -s
    return measured


def check_rooms_as_documented(
    project: Path, image: Image, deployer: Deployer, auth_token: str | None
) -> dict[str, tuple[int | None, float]]:
    """`check_rooms` on the image's server with one worker (`WEB_CONCURRENCY=1`, which the
    README allows without Redis); the database is the one the release command already
    migrated."""
    with serving_as_documented(
        project, image, deployer, release=False, overrides={"WEB_CONCURRENCY": "1"}
    ) as served:
        return check_rooms(served.base_url, auth_token)


# What a message may take to reach a member on another instance: through Redis and back.
ACROSS_INSTANCES_BOUND = 3.0


def check_rooms_across_instances(
    project: Path, image: Image, deployer: Deployer, auth_token: str | None
) -> float:
    """Two instances of the image behind one load balancer, each with one worker and the
    README's REDIS_URL: a member on each joins one room, and a message from either reaches the
    other within ACROSS_INSTANCES_BOUND (each also gets its own once). Returns the slowest."""
    protocols = ["bearer", auth_token] if auth_token else None
    room = f"room-{secrets.token_hex(4)}"
    one_worker = {"WEB_CONCURRENCY": "1"}
    with ExitStack() as stack:
        first, second = (
            stack.enter_context(
                serving_as_documented(project, image, deployer, release=False, overrides=one_worker)
            )
            for _ in range(2)
        )
        assert first.env.get("REDIS_URL") and first.env == {
            **second.env,
            "PORT": first.env["PORT"],
        }, "the instances share the README's REDIS_URL"
        alice = Peer(first.base_url, room_path(room), protocols)
        stack.callback(alice.close)
        bob = Peer(second.base_url, room_path(room), protocols)
        stack.callback(bob.close)
        slowest = 0.0
        for sender, receiver, text in [(alice, bob, "from the first"), (bob, alice, "and back")]:
            sent_at = time.monotonic()
            sender.send_text(text)
            try:
                received = receiver.receive_json(ACROSS_INSTANCES_BOUND)
            except TimeoutError:
                received = None
            seconds = round(time.monotonic() - sent_at, 2)
            record_fault("two instances", f"a room message {text}", 200 if received else 0, seconds)
            assert received == {"room": room, "text": text}, (text, received, seconds)
            assert sender.receive_json() == {"room": room, "text": text}
            slowest = max(slowest, seconds)
        print(f"two instances: slowest message across {slowest} s")  # for the record, pytest -s
        return slowest
