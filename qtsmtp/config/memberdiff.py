"""What RMVSMTPLE did to a member, found from the member before and after: which lines
went, and whether an IPv4 network still has a record.

RMVSMTPLE writes the member again without the records of one entry, every other line
as it was. A server job that compiled a list of a million records must not compile it
all again for that (several seconds): ``removed_lines`` finds the lines that went, by
comparing the two versions a block at a time, and gives up (None) on any other change,
which then compiles everything as before. ``has_network`` tells whether the new member
still holds a record of a network (a hand-made duplicate) without parsing every line:
an IPv4 record is valid only in canonical dotted form, so its text starts with the
network's leading octets.
"""

from __future__ import annotations

from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import canonical_ip4_network

BLOCK = 1 << 16
# Beyond these, a full compile is as quick, and surely right.
MOST_REMOVED = 100
MOST_CANDIDATES = 50_000


def removed_lines(old: bytes, new: bytes) -> list[bytes] | None:
    """The lines (without their line end) that ``new`` lacks, if ``new`` is ``old`` with
    some whole lines taken out and nothing else changed; else None. Both must end with a
    line end (or be empty)."""
    if (old and not old.endswith(b"\n")) or (new and not new.endswith(b"\n")):
        return None
    removed = []
    at_old = at_new = 0
    while True:
        same = _common_length(old, at_old, new, at_new)
        at_old, at_new = at_old + same, at_new + same
        if at_old == len(old):
            return removed if at_new == len(new) else None
        # The first difference lies in a line of old that new lacks: take that line out
        # (what of it matched, from its start, is given back) and compare on after it.
        # Every step starts at a line start, so the line is wholly after the last one.
        start = old.rfind(b"\n", 0, at_old) + 1
        end = old.index(b"\n", at_old)
        removed.append(old[start:end])
        if len(removed) > MOST_REMOVED:
            return None
        at_old, at_new = end + 1, at_new - (at_old - start)


def _common_length(a: bytes, i: int, b: bytes, j: int) -> int:
    """How many bytes a[i:] and b[j:] have in common from their starts."""
    most = min(len(a) - i, len(b) - j)
    done = 0
    while done < most:                  # whole blocks first (memcmp), then halve
        step = min(BLOCK, most - done)
        if a[i + done:i + done + step] != b[j + done:j + done + step]:
            break
        done += step
    else:
        return most
    low, high = done, min(done + BLOCK, most)    # the first difference is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if a[i + low:i + middle] == b[j + low:j + middle]:
            low = middle
        else:
            high = middle
    return low


def has_network(list_type: lt.ListType, data: bytes, network: int, prefix: int) -> bool | None:
    """Does ``data`` (a member of an IPv4 address list) hold a record of that network?
    None when the answer would cost more than a full compile (a short prefix)."""
    octets = [str(network >> shift & 255) for shift in (24, 16, 8, 0)]
    if prefix == 32:
        needle = ".".join(octets).encode()
    elif prefix >= 16:
        needle = (".".join(octets[:prefix // 8]) + ".").encode()
    else:
        return None
    candidates = 0
    found = data.find(needle)
    while found >= 0:
        candidates += 1
        if candidates > MOST_CANDIDATES:
            return None
        start = data.rfind(b"\n", 0, found) + 1
        end = data.find(b"\n", found)
        line = data[start:end if end >= 0 else len(data)].decode("utf-8", "surrogateescape")
        if canonical_ip4_network(list_type, line.rstrip("\r")) == (network, prefix):
            return True
        found = data.find(needle, (end if end >= 0 else len(data)))
    return False
