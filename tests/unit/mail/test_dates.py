"""dates.date_value writes what email.utils.format_datetime writes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from gateway.mail.dates import date_value


def test_equal_to_format_datetime() -> None:
    pick = random.Random(2)
    zones = [UTC, timezone(timedelta(0)), timezone(timedelta(hours=-5)),
             timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(seconds=1)), None]
    for _ in range(20000):
        moment = datetime(pick.randrange(1, 10000), pick.randrange(1, 13), pick.randrange(1, 29),
                          pick.randrange(24), pick.randrange(60), pick.randrange(60),
                          pick.randrange(1000000), tzinfo=pick.choice(zones))
        assert date_value(moment) == format_datetime(moment), moment
