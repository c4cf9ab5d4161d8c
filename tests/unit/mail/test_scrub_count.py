"""AddressScrubber.count_bytes counts what count counts in the Latin-1 reading of the bytes."""

from __future__ import annotations

import random

from gateway.mail.scrub import AddressScrubber

PAIRS = [{"Jean.Tremblay@Example.com": "a@gw.example", "zoe@family.example": "b@gw.example"},
         {"ana@éxample.org": "a@gw.example", "b@x.example": "b@gw.example"},  # not ASCII
         {"a@b.example": "x@gw.example", " ": "y@gw.example"}]


def test_count_bytes_equals_count_of_the_latin1_text() -> None:
    pick = random.Random(9)
    for pair in PAIRS:
        scrubber = AddressScrubber(pair)
        pieces = [address for address in pair if address.strip()]
        pieces += [a.upper() for a in pieces] + [a.replace("@", "%40") for a in pieces]
        pieces += [a.replace("@", "&#64;").title() for a in pieces]
        pieces += ["é", "É", "À", "Þ", "ÿ", "\u00b5", "ß", "×", " ", "\r\n", "@", "EXAMPLE.COM"]
        found = 0
        for _ in range(3000):
            text = "".join(pick.choice(pieces) for _ in range(pick.randrange(0, 8)))
            for data in (text.encode("utf-8"), text.encode("latin-1", "replace"),
                         bytes(pick.randrange(256) for _ in range(6)) + text.encode("utf-8")):
                expected = scrubber.count(data.decode("latin-1"))
                assert scrubber.count_bytes(data) == expected, (pair, data)
                found += expected
        assert found > 1000
