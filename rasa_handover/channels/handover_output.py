"""Output channels: the wrapper that intercepts handovers, and the customer push.

`HandoverOutput` wraps whatever output channel Rasa uses for the customer's
message (socket.io, or the REST collector). Ordinary bot messages pass through;
the custom message from `action_handover` / `action_schedule_callback` is turned
into an inbox ticket and the acknowledgement the customer sees.

`CustomerOutput` reaches a customer outside of a request: an agent's reply, a
wait update, the greeting after a handback. It pushes over socket.io (to the
conversation's room) and into the REST mailbox.
"""

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel

from rasa_handover.channels.mailbox import Mailbox
from rasa_handover.inbox.contract import MESSAGE_KEY

if TYPE_CHECKING:
    from socketio import AsyncServer

# `async def handler(conversation_id, message, output)`: what to do with the
# plugin's message (`HandoverRelay.handle_plugin_message`).
PluginMessageHandler = Callable[[str, Dict[str, Any], OutputChannel], Awaitable[None]]


class HandoverOutput(OutputChannel):
    """Wraps the customer's output channel and intercepts handover messages."""

    @classmethod
    def name(cls) -> str:
        """Every output channel has a name."""
        return "handover"

    def __init__(
        self, inner: OutputChannel, on_plugin_message: PluginMessageHandler
    ) -> None:
        """Sends through `inner`; hands plugin messages to `on_plugin_message`."""
        self.inner = inner
        self.on_plugin_message = on_plugin_message

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """Turns the plugin's messages into inbox requests; passes others through."""
        if isinstance(json_message, dict) and MESSAGE_KEY in json_message:
            await self.on_plugin_message(
                recipient_id, json_message[MESSAGE_KEY], self.inner
            )
            return
        await self.inner.send_custom_json(recipient_id, json_message, **kwargs)

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        """Passes through."""
        await self.inner.send_text_message(recipient_id, text, **kwargs)

    async def send_image_url(
        self, recipient_id: str, image: str, **kwargs: Any
    ) -> None:
        """Passes through."""
        await self.inner.send_image_url(recipient_id, image, **kwargs)

    async def send_attachment(
        self, recipient_id: str, attachment: str, **kwargs: Any
    ) -> None:
        """Passes through."""
        await self.inner.send_attachment(recipient_id, attachment, **kwargs)

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: List[Dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        """Passes through."""
        await self.inner.send_text_with_buttons(recipient_id, text, buttons, **kwargs)

    async def send_quick_replies(
        self,
        recipient_id: str,
        text: str,
        quick_replies: List[Dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        """Passes through."""
        await self.inner.send_quick_replies(recipient_id, text, quick_replies, **kwargs)

    async def send_elements(
        self, recipient_id: str, elements: Any, **kwargs: Any
    ) -> None:
        """Passes through."""
        await self.inner.send_elements(recipient_id, elements, **kwargs)


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
        mailbox: Mailbox,
        namespace: Optional[str] = None,
    ) -> None:
        """Emits `bot_message_evt` on `sio` and stores in `mailbox`."""
        self.sio = sio
        self.bot_message_evt = bot_message_evt
        self.mailbox = mailbox
        self.namespace = namespace

    async def _push(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.mailbox.put(recipient_id, message)
        if self.sio is not None:
            # The conversation id is the socket room (session persistence) or
            # the socket id itself, which socket.io also treats as a room.
            await self.sio.emit(
                self.bot_message_evt,
                message,
                room=recipient_id,
                namespace=self.namespace,
            )

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        """Sends a text (with `metadata`, e.g. the agent's name, if given)."""
        message: Dict[str, Any] = {"text": text}
        if kwargs.get("metadata"):
            message["metadata"] = kwargs["metadata"]
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
