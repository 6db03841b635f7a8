"""A real SMTP server on loopback for the account-flow proofs: the generated project sends its
mail over SMTP as in production, and the proof reads each message and follows its links."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.templates.as_run import free_port

LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass
class Mailbox:
    """Every message the server accepted, in order; `wait_for` blocks until one arrives."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, after: int = 0, timeout: float = 30) -> EmailMessage:
        """The first message to `to` among those from index `after` on."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self.messages[after:]:
                    if _addressed_to(message, to):
                        return message
                left = deadline - time.monotonic()
                sent = [str(m["To"]) for m in self.messages]
                assert left > 0, f"no mail to {to} in {timeout} s; mail went to {sent}"
                self._arrived.wait(left)

    def sent_to(self, to: str) -> list[EmailMessage]:
        with self._arrived:
            return [m for m in self.messages if _addressed_to(m, to)]


def _addressed_to(message: EmailMessage, to: str) -> bool:
    return to.lower() in str(message["To"]).lower()


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    assert part is not None, message
    return str(part.get_content())


def links(message: EmailMessage) -> list[str]:
    """The links of a message's text, in order (quoted-printable and HTML entities undone)."""
    return [link.replace("&amp;", "&").rstrip(".,)") for link in LINK.findall(body_text(message))]


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """A plain-SMTP server on 127.0.0.1 (no TLS, no auth), for as long as the block runs."""
    mailbox = Mailbox("127.0.0.1", free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def first_link(
    mailbox: Mailbox, to: str, wanted: Callable[[str], bool], after: int = 0, timeout: float = 30
) -> str:
    """The first `wanted` link of the first mail to `to` from index `after` on."""
    message = mailbox.wait_for(to, after=after, timeout=timeout)
    found = [link for link in links(message) if wanted(link)]
    assert found, links(message)
    return found[0]
