"""The output that reaches a customer outside of a request.

`CustomerOutput` carries an agent's reply, a wait update, the greeting after a
handback. It pushes over socket.io (to the conversation's room) and into the
REST mailbox. An agent's reply loses its unsafe links on both; over socket.io
(rasa-webchat) it also starts with the agent's name (`agent_messages`).
"""

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel

from rasa_handover.channels.agent_messages import (
    is_agent_message,
    safe_links,
    widget_message,
)
from rasa_handover.channels.mailbox import CustomerMailbox

if TYPE_CHECKING:
    from socketio import AsyncServer


class CustomerOutput(OutputChannel):
    """Pushes messages to a customer outside of a request/response cycle."""

    @classmethod
    def name(cls) -> str:
        """Every output channel has a name."""
        return "handover"

    def __init__(
        self,
        sio: Optional["AsyncServer"],
        bot_message_evt: str,
        mailbox: CustomerMailbox,
        namespace: Optional[str] = None,
    ) -> None:
        """Emits `bot_message_evt` on `sio` and stores in `mailbox`."""
        self.sio = sio
        self.bot_message_evt = bot_message_evt
        self.mailbox = mailbox
        self.namespace = namespace

    async def _push(
        self,
        recipient_id: str,
        message: Dict[str, Any],
        socket_message: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Stores `message` in the mailbox; emits `socket_message` or it."""
        await self.mailbox.post(recipient_id, message)
        if self.sio is not None:
            # The conversation id is the socket room (session persistence) or
            # the socket id itself, which socket.io also treats as a room.
            await self.sio.emit(
                self.bot_message_evt,
                socket_message or message,
                room=recipient_id,
                namespace=self.namespace,
            )

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        """Sends a text (with `metadata`, e.g. the agent's name, if given).

        An agent's reply (`metadata.from` is `agent`) keeps only http(s) and
        mailto links; rasa-webchat gets it with the agent's name first.
        """
        metadata = kwargs.get("metadata")
        if metadata is not None and is_agent_message(metadata):
            await self._push(
                recipient_id,
                {"text": safe_links(text), "metadata": metadata},
                widget_message(text, metadata),
            )
            return
        message: Dict[str, Any] = {"text": text}
        if metadata:
            message["metadata"] = metadata
        await self._push(recipient_id, message)

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: List[Dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        """Sends a text with buttons, as quick replies (what rasa-webchat shows)."""
        await self._push(
            recipient_id,
            {
                "text": text,
                "quick_replies": [
                    {
                        "content_type": "text",
                        "title": button.get("title"),
                        "payload": button.get("payload"),
                    }
                    for button in buttons
                ],
            },
        )

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """Sends a custom message as is."""
        await self._push(recipient_id, dict(json_message))
