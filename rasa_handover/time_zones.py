"""Time zones by IANA name, on every Python the plugin supports (pure).

`zoneinfo` from Python 3.9; on 3.8 `dateutil`, which ships with Rasa. Business
hours (`inbox/router.py`) and callback times (`callback_details.py`) read their
zones here.
"""

import sys
from datetime import tzinfo

if sys.version_info >= (3, 9):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    def time_zone(name: str) -> tzinfo:
        """The zone named `name` (e.g. "Europe/Berlin", "UTC").

        Raises:
            ValueError: no such zone.

        """
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown timezone '{name}'") from error

else:  # Python 3.8: no zoneinfo; dateutil ships with Rasa.
    from dateutil import tz as _dateutil_tz

    def time_zone(name: str) -> tzinfo:
        """The zone named `name` (e.g. "Europe/Berlin", "UTC").

        Raises:
            ValueError: no such zone.

        """
        zone = _dateutil_tz.gettz(name)
        if zone is None:
            raise ValueError(f"unknown timezone '{name}'")
        return zone
