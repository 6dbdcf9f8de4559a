"""`python -m rasa_handover.inbox`: the standalone inbox service."""

import sys

from rasa_handover.inbox.cli import main

sys.exit(main())
