"""The handover channel: `HandoverInput` (credentials.yml) and its outputs.

`sender_token` makes the token a REST integrator's backend gives its customer
(see docs/channel.md#customer-authentication).
"""

from rasa_handover.channels.customer_auth import sender_token
from rasa_handover.channels.customer_output import CustomerOutput
from rasa_handover.channels.handover_input import HandoverInput
from rasa_handover.channels.handover_output import HandoverOutput

__all__ = ["CustomerOutput", "HandoverInput", "HandoverOutput", "sender_token"]
