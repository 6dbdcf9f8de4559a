"""The handover channel: `HandoverInput` (credentials.yml) and its outputs."""

from rasa_handover.channels.customer_output import CustomerOutput
from rasa_handover.channels.handover_input import HandoverInput
from rasa_handover.channels.handover_output import HandoverOutput

__all__ = ["CustomerOutput", "HandoverInput", "HandoverOutput"]
