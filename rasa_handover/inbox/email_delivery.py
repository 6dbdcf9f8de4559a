"""Agents' replies to messages left for them, sent by e-mail (inbox.yml `email:`).

```yaml
# inbox.yml
email:
  host: smtp.example.com
  port: 587                        # 465 with security: ssl, 25 for a local relay
  security: starttls               # starttls (default), ssl or none
  from: Streamly support <support@streamly.example>
  username: support@streamly.example
  password_env: HANDOVER_SMTP_PASSWORD   # the password itself never in the file
  subject: "Your message to Streamly support"
```

Without `email:` the inbox offers no "leave a message" (the bot never promises
a reply by e-mail). With it, a ticket the customer left a message on
(`InboxService.leave_message`) keeps waiting in the queue; every agent reply on
it is sent to the customer's address with the standard library's `smtplib`,
in a worker thread, and noted on the ticket ("E-mailed to ..." or why not).
"""

import asyncio
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Mapping, Optional, Set

from rasa_handover.inbox.contract import (
    EVENT_MESSAGE,
    REPLY_BY_EMAIL,
    SENDER_AGENT,
    SENDER_SYSTEM,
)
from rasa_handover.inbox.models import LifecycleEvent, Ticket

logger = logging.getLogger(__name__)

SECURITY_STARTTLS = "starttls"
SECURITY_SSL = "ssl"
SECURITY_NONE = "none"
SECURITIES = (SECURITY_STARTTLS, SECURITY_SSL, SECURITY_NONE)
DEFAULT_PORTS = {SECURITY_STARTTLS: 587, SECURITY_SSL: 465, SECURITY_NONE: 25}
DEFAULT_SUBJECT = "Your message to our support team"
SMTP_TIMEOUT_SECONDS = 15.0
_KEYS = ("host", "port", "security", "from", "username", "password_env", "subject")


class EmailSettingsError(ValueError):
    """The `email:` settings are invalid; the message names the key."""


@dataclass(frozen=True)
class EmailSettings:
    """How the inbox sends e-mail.

    Attributes:
        host: The SMTP server.
        port: Its port (default by `security`: 587, 465 or 25).
        from_address: The sender, e.g. `Support <support@example.com>`.
        security: `starttls`, `ssl` or `none`.
        username: SMTP login (optional).
        password: Read from the environment variable `password_env`.
        subject: The subject of every reply.

    """

    host: str
    from_address: str
    port: int = DEFAULT_PORTS[SECURITY_STARTTLS]
    security: str = SECURITY_STARTTLS
    username: Optional[str] = None
    password: Optional[str] = None
    subject: str = DEFAULT_SUBJECT

    @classmethod
    def from_dict(cls, data: Any) -> "EmailSettings":
        """Reads the `email:` mapping of inbox.yml.

        Raises:
            EmailSettingsError: naming the key and what to write.

        """
        if not isinstance(data, Mapping):
            raise EmailSettingsError("email must be a mapping with host, from, ...")
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise EmailSettingsError(
                f"email has unknown keys {unknown}; valid keys are {list(_KEYS)}"
            )
        host, sender = data.get("host"), data.get("from")
        if not isinstance(host, str) or not host.strip():
            raise EmailSettingsError("email.host is required (the SMTP server)")
        if not isinstance(sender, str) or "@" not in sender:
            raise EmailSettingsError(
                "email.from is required, e.g. 'Support <support@example.com>'"
            )
        security = str(data.get("security", SECURITY_STARTTLS)).lower()
        if security not in SECURITIES:
            raise EmailSettingsError(
                f"email.security must be one of {', '.join(SECURITIES)}"
            )
        port = data.get("port", DEFAULT_PORTS[security])
        if isinstance(port, bool) or not isinstance(port, int) or port <= 0:
            raise EmailSettingsError("email.port must be a port number, e.g. 587")
        return cls(
            host=host.strip(),
            from_address=sender.strip(),
            port=port,
            security=security,
            username=str(data["username"]) if data.get("username") else None,
            password=_password(data.get("password_env")),
            subject=str(data.get("subject") or DEFAULT_SUBJECT),
        )


def _password(variable: Any) -> Optional[str]:
    if not variable:
        return None
    value = os.environ.get(str(variable))
    if not value:
        raise EmailSettingsError(
            f"email.password_env names ${variable}, which is not set"
        )
    return value


def reply_address(ticket: Ticket) -> Optional[str]:
    """The customer's address if the ticket is answered by e-mail."""
    details = ticket.callback or {}
    if details.get("kind") == REPLY_BY_EMAIL and details.get("contact"):
        return str(details["contact"])
    return None


def compose(
    settings: EmailSettings, to: str, text: str, agent_name: Optional[str]
) -> EmailMessage:
    """The e-mail of one agent reply."""
    message = EmailMessage()
    message["From"] = settings.from_address
    message["To"] = to
    message["Subject"] = settings.subject
    message["Message-ID"] = make_msgid()
    signature = f"\n\n{agent_name}" if agent_name else ""
    message.set_content(f"{text}{signature}\n")
    return message


def send(settings: EmailSettings, message: EmailMessage) -> None:
    """Sends `message` (blocking: call it in a thread).

    Raises:
        smtplib.SMTPException, OSError: the server refused or is unreachable.

    """
    smtp: smtplib.SMTP
    if settings.security == SECURITY_SSL:
        smtp = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=SMTP_TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
    with smtp:
        if settings.security == SECURITY_STARTTLS:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username and settings.password:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)


class EmailReplies:
    """Subscribes to the inbox: agent replies on async tickets go out by e-mail."""

    def __init__(self, settings: EmailSettings, store: Any) -> None:
        """Sends with `settings`; notes the result on the ticket in `store`."""
        self.settings = settings
        self.store = store
        self._sending: Set[asyncio.Task[None]] = set()

    async def __call__(self, event: LifecycleEvent, ticket: Ticket) -> None:
        """Starts sending an agent's reply on an async ticket (in the background)."""
        if event.type != EVENT_MESSAGE or event.data.get("sender") != SENDER_AGENT:
            return
        address = reply_address(ticket)
        if address is None:
            return
        task = asyncio.ensure_future(
            self._send(
                ticket.id,
                address,
                str(event.data.get("text") or ""),
                event.data.get("agent_name"),
            )
        )
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def drain(self) -> None:
        """Waits for the e-mails being sent (shutdown, tests)."""
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    async def _send(
        self, ticket_id: int, address: str, text: str, agent_name: Optional[str]
    ) -> None:
        message = compose(self.settings, address, text, agent_name)
        try:
            await asyncio.to_thread(send, self.settings, message)
        except (smtplib.SMTPException, OSError) as error:
            logger.error(
                "rasa-handover: the reply on ticket %s could not be e-mailed to %s: %s",
                ticket_id,
                address,
                error,
            )
            note = f"The e-mail to {address} could not be sent ({error}). Retry or "
            note += "write to the customer directly."
        else:
            note = f"E-mailed to {address}."
        await self.store.add_message(ticket_id, SENDER_SYSTEM, note)
