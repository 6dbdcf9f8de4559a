"""Which conversation each socket.io socket has proved it owns.

rasa-webchat sends `session_request` with the session id it stored, then every
`user_uttered` with that id. `SocketSessions` answers the first with a session
the server signed (`customer_auth`): the stored one if the server issued it, a
fresh one otherwise, and puts the socket in that conversation's room (where
the bot's and the agent's messages go). It accepts a message only for the
session its socket was confirmed in. See docs/channel.md#customer-authentication.
"""

import inspect
import logging
from typing import TYPE_CHECKING, Any, Dict, Optional

from rasa_handover.channels.customer_auth import CustomerAuth, Session

if TYPE_CHECKING:
    from socketio import AsyncServer

logger = logging.getLogger(__name__)


class SocketSessions:
    """The conversation of each connected socket (forgotten when it disconnects)."""

    def __init__(
        self, auth: CustomerAuth, namespace: Optional[str], persistence: bool = True
    ) -> None:
        """`persistence` False: each socket is its own conversation (its sid)."""
        self.auth = auth
        self.namespace = namespace
        self.persistence = persistence
        self._conversations: Dict[str, str] = {}

    async def enter(self, sio: "AsyncServer", sid: str, stored: Any) -> Session:
        """Puts socket `sid` in its conversation's room: the stored one, or a new one.

        A session id this server signed resumes its conversation (a reload, a
        second tab). Anything else (none yet, an id it never issued, someone
        else's conversation id) gets a fresh conversation of its own: the
        socket never joins a room it has not proved it owns, and leaves the
        room of a session it asked for before.

        Returns:
            The session: its id for `session_confirm`, and the conversation id.

        """
        if not self.persistence:
            return Session(sid, sid)
        session = self.auth.session(stored)
        if session is None:
            if stored:
                logger.info(
                    "rasa-handover: a socket.io session_request with a session id "
                    "this server did not issue (forged, or signed with another "
                    "`customer_secret`) got a fresh session."
                )
            session = self.auth.new_session()
        previous = self._conversations.get(sid)
        if previous is not None and previous != session.conversation_id:
            await _maybe_await(sio.leave_room(sid, previous, namespace=self.namespace))
        self._conversations[sid] = session.conversation_id
        # A coroutine in recent python-socketio 5.x, a plain call before
        # (Rasa's own socketio channel forgets to await it).
        await _maybe_await(
            sio.enter_room(sid, session.conversation_id, namespace=self.namespace)
        )
        return session

    def sender(self, sid: str, session_id: Any) -> Optional[str]:
        """The conversation a socket's message belongs to, or None if refused.

        With session persistence the message names its session (`session_id`,
        as rasa-webchat sends it); it must be the session this socket was
        confirmed in. Replies then go to the conversation's room, so every tab
        of the customer sees them, like the agent's replies.
        """
        if not self.persistence:
            return sid
        owned = self._conversations.get(sid)
        if owned is None:
            logger.warning(
                "rasa-handover: a socket.io message before `session_request` was "
                "ignored; send `session_request` first (rasa-webchat does)."
            )
            return None
        session = self.auth.session(session_id)
        if session is None or session.conversation_id != owned:
            logger.warning(
                "rasa-handover: a socket.io message for a session this socket was "
                "not confirmed in was refused (a customer can only write in their "
                "own conversation)."
            )
            return None
        return owned

    def forget(self, sid: str) -> None:
        """The socket disconnected."""
        self._conversations.pop(sid, None)


async def _maybe_await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result
