"""The output wrapper that intercepts handovers.

`HandoverOutput` wraps whatever output channel Rasa uses for the customer's
message (socket.io, or the REST collector). Ordinary bot messages pass through;
the custom message from `action_handover` / `action_schedule_callback` goes to a
callback (`HandoverRelay.handle_plugin_message`), which turns it into an inbox
ticket and the acknowledgement the customer sees.
"""

from typing import Any, Awaitable, Callable, Dict, List

from rasa.core.channels.channel import OutputChannel

from rasa_handover.inbox.contract import MESSAGE_KEY

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
        # How many messages reached the customer through this wrapper (the
        # waiting room answers a waiting customer only when the bot did not).
        self.sent = 0

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """Turns the plugin's messages into inbox requests; passes others through."""
        if isinstance(json_message, dict) and MESSAGE_KEY in json_message:
            self.sent += 1  # the relay tells the customer (booked, queued, ...)
            await self.on_plugin_message(
                recipient_id, json_message[MESSAGE_KEY], self.inner
            )
            return
        self.sent += 1
        await self.inner.send_custom_json(recipient_id, json_message, **kwargs)

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        """Passes through."""
        self.sent += 1
        await self.inner.send_text_message(recipient_id, text, **kwargs)

    async def send_image_url(
        self, recipient_id: str, image: str, **kwargs: Any
    ) -> None:
        """Passes through."""
        self.sent += 1
        await self.inner.send_image_url(recipient_id, image, **kwargs)

    async def send_attachment(
        self, recipient_id: str, attachment: str, **kwargs: Any
    ) -> None:
        """Passes through."""
        self.sent += 1
        await self.inner.send_attachment(recipient_id, attachment, **kwargs)

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: List[Dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        """Passes through."""
        self.sent += 1
        await self.inner.send_text_with_buttons(recipient_id, text, buttons, **kwargs)

    async def send_quick_replies(
        self,
        recipient_id: str,
        text: str,
        quick_replies: List[Dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        """Passes through."""
        self.sent += 1
        await self.inner.send_quick_replies(recipient_id, text, quick_replies, **kwargs)

    async def send_elements(
        self, recipient_id: str, elements: Any, **kwargs: Any
    ) -> None:
        """Passes through."""
        self.sent += 1
        await self.inner.send_elements(recipient_id, elements, **kwargs)
