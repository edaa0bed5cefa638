"""read_back (config.entries), the check every ADDSMTPLE makes before it stores a record,
takes a short way for the canonical IPv4 record of an IPv4 list: it compares the
identity and the record parse_record_fast would give, without making that Entry. It
must decide exactly as reading the record back does: every entry a command makes, and
entries whose record or identity was tampered with, accepted or refused alike."""

from __future__ import annotations

import random

from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt
from qtsmtp.messages import CLError

T = lt.LIST_TYPES


def read_back_in_full(entry: entries.Entry) -> str | None:
    """What reading the record back decides (read_back before its short way): None when
    it is the entry, else the reason of TCP2692."""
    try:
        again = entries.parse_record_fast(entry.list_type, entry.record)
    except CLError as bad:
        return bad.escape.text.rstrip(".")
    if again is None or again.identity != entry.identity or again.record != entry.record:
        return "it would be read back as another entry"
    return None


def verdict(entry: entries.Entry) -> str | None:
    try:
        entries.read_back(entry)
    except CLError as refused:
        assert refused.escape.id == "TCP2692"
        return refused.escape.data[2]
    return None


def tampered(entry: entries.Entry, record: str | None = None, identity=None) -> entries.Entry:
    return entries.Entry(entry.list_type, entry.record if record is None else record,
                         entry.identity if identity is None else identity, None,
                         entry.address)


def cases() -> list[entries.Entry]:
    rng = random.Random(15)
    made = []
    for _ in range(3000):
        address = ".".join(str(rng.choice([0, 1, 9, 10, 127, 192, 255, rng.randrange(256)]))
                           for _ in range(4))
        mask = rng.choice(["255.255.255.255", "255.255.255.0", "255.255.0.0", "0.0.0.0",
                           "255.255.255.254", "128.0.0.0"])
        for type_ in ("*ACCEPT", "*REJECT"):
            entry = entries.ip4_entry(T[type_], address, mask)
            made.append(entry)
            _, version, network, prefix = entry.identity
            made += [
                tampered(entry, record=entry.record.replace(" ", "  ")),
                tampered(entry, record=entry.record.replace(" ", "\t")),
                tampered(entry, record=address),
                tampered(entry, record=f"{address} {mask} x"),
                tampered(entry, record=f"0{address} {mask}"),
                tampered(entry, identity=("ip", version, network ^ (1 << 31), prefix)),
                tampered(entry, identity=("ip", version, network, (prefix + 1) % 33)),
                tampered(entry, identity=("ip", 6, network, prefix)),
                tampered(entry, identity=("domain", entry.record)),
            ]
    # Non-canonical forms a command may also be given (ip4_entry's other path).
    for address, mask in [("10.1.1.1", "255.255.255.000"), ("10.1.1.1", "255.255.000.0"),
                          ("10.1.1.1", "255.0.255.0")]:
        try:
            made.append(entries.ip4_entry(T["*ACCEPT"], address, mask))
        except CLError:
            pass
    return made


def test_the_short_way_decides_as_reading_the_record_back():
    checked = cases()
    assert len(checked) > 50_000
    refused = 0
    for entry in checked:
        expected = read_back_in_full(entry)
        assert verdict(entry) == expected, (entry.record, entry.identity)
        refused += expected is not None
    assert refused > 20_000       # the tampered ones, mostly
