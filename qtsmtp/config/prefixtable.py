"""One IP list of the relay policy, for one address family: sorted keys per prefix length.

A list of a million IPv4 entries held as Python ints in sets cost about 70 MB in every
server job (an int object and a set slot per entry). Here each prefix length present
keeps its keys (``network >> host_bits``) as one sorted ``array('I')`` for IPv4 (4
bytes an entry; a sorted list of ints for IPv6), and a lookup is a binary search. A
small table (SMALL entries or fewer for a length) also keeps a frozenset of its keys:
the lists most servers have are a handful of entries, and a set probe is what every
connection asks.

A lookup probes the prefix lengths present, longest first, so the first hit is also the
most specific entry, the one DESIGN 5.5 says to report. An IPv4 table also keeps, per
/16 block, a 16-bit mask of the lengths /17../32 that have an entry inside that block
(such an entry lies wholly inside one /16): a client far from every long entry skips
those 16 probes for one array read. 128 KB, made on the first long entry.

A change (ADDSMTPLE, RMVSMTPLE) makes a new policy and leaves the old one as it was: a
session keeps the policy it started with. Key arrays are never written once made: a
change builds the new array of the one prefix length it touches from slices of the old
one (a copy at memory speed, a few milliseconds for a million entries), and ``copy``
shares every array. Changes come in batches (``update``): a script's 10,000 ADDSMTPLE
cost one new array per length, not 10,000.
"""

from __future__ import annotations

import ipaddress
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from itertools import chain, compress, repeat
from operator import ne, rshift

# A length with at most this many keys also keeps them in a frozenset (see above).
SMALL = 64


def _dotted(n: int) -> str:
    return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


MASKS4 = tuple(_dotted(0xFFFFFFFF << (32 - p) & 0xFFFFFFFF) for p in range(33))


class PrefixTable:
    """The entries of one IP list for one address family (``bits`` 32 or 128)."""

    __slots__ = ("bits", "list_name", "_by_prefix", "_long", "_short", "_block_lengths",
                 "_own_blocks")

    def __init__(self, bits: int, list_name: str):
        self.bits = bits
        self.list_name = list_name
        self._by_prefix: dict[int, array | list] = {}   # prefix -> sorted keys, never written
        # Longest prefix first, so the first hit is the most specific entry.
        self._long: tuple = ()     # (bit, shift, keys, small set or None, prefix)
        self._short: tuple = ()    # (shift, keys, small set or None, prefix)
        self._block_lengths: array | None = None
        self._own_blocks = True

    # --- changes --------------------------------------------------------------------

    def add(self, network: int, prefix: int) -> None:
        self.update({prefix: [network >> (self.bits - prefix)]}, {})

    def discard(self, network: int, prefix: int) -> None:
        """Take the entry out (no error when it is not there)."""
        self.update({}, {prefix: {network >> (self.bits - prefix)}})

    def update(self, adds: dict[int, Iterable[int]], drops: dict[int, set]) -> None:
        """Put in the keys of ``adds`` and take out those of ``drops`` (both by prefix
        length; a key is in one of them at most). The arrays of the lengths touched are
        made again; no other."""
        for prefix in adds.keys() | drops.keys():
            old = self._by_prefix.get(prefix)
            keys = _merged(old if old is not None else self._empty(), adds.get(prefix, ()),
                           drops.get(prefix, ()))
            if keys:
                self._by_prefix[prefix] = keys
            else:
                self._by_prefix.pop(prefix, None)
        self._mark_blocks(adds)
        self._arrange()

    def _empty(self) -> array | list:
        return array("I") if self.bits == 32 else []

    def _mark_blocks(self, adds: dict[int, Iterable[int]]) -> None:
        """Set the /16 block bits of the long entries added. A bit of an entry taken out
        stays: a hint that costs a probe, never a wrong answer."""
        if self.bits != 32 or not any(p > 16 and len(keys) for p, keys in adds.items()):
            return
        if self._block_lengths is None:
            self._block_lengths = array("H", bytes(2 * 65536))
        elif not self._own_blocks:
            self._block_lengths = array("H", self._block_lengths)
        self._own_blocks = True
        blocks = self._block_lengths
        for prefix, keys in adds.items():
            if prefix > 16:
                bit, shift = 1 << (prefix - 17), prefix - 16
                for block in set(map(rshift, keys, repeat(shift))):
                    blocks[block] |= bit

    def _arrange(self) -> None:
        summarised = self._block_lengths is not None
        order = sorted(self._by_prefix, reverse=True)
        by = self._by_prefix
        self._long = tuple((1 << (p - 17), 32 - p, by[p], _small(by[p]), p)
                           for p in order if summarised and p > 16)
        self._short = tuple((self.bits - p, by[p], _small(by[p]), p)
                            for p in order if not (summarised and p > 16))

    def copy(self) -> PrefixTable:
        """A table with the same entries, sharing this one's arrays (never written) and
        its block hints until either table changes them."""
        twin = PrefixTable(self.bits, self.list_name)
        twin._by_prefix = dict(self._by_prefix)
        twin._long, twin._short = self._long, self._short
        twin._block_lengths = self._block_lengths
        twin._own_blocks = self._block_lengths is None
        self._own_blocks = self._block_lengths is None    # shared now: both copy to write
        return twin

    # --- questions ------------------------------------------------------------------

    def match(self, address: int) -> int:
        """The prefix length of the most specific entry holding ``address``, or -1."""
        if self._block_lengths is not None:
            present = self._block_lengths[address >> 16]
            if present:
                for bit, shift, keys, small, prefix in self._long:
                    if present & bit:
                        key = address >> shift
                        if small is not None:
                            if key in small:
                                return prefix
                        else:
                            at = bisect_left(keys, key)
                            if at < len(keys) and keys[at] == key:
                                return prefix
        for shift, keys, small, prefix in self._short:
            key = address >> shift
            if small is not None:
                if key in small:
                    return prefix
            else:
                at = bisect_left(keys, key)
                if at < len(keys) and keys[at] == key:
                    return prefix
        return -1

    def record(self, address: int, prefix: int) -> str:
        """The member record of the entry of length ``prefix`` that holds ``address``."""
        shift = self.bits - prefix
        network = address >> shift << shift
        if self.bits == 32:
            return f"{_dotted(network)} {MASKS4[prefix]}"
        return f"{ipaddress.IPv6Address(network).compressed} {prefix}"

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._by_prefix.values())

    def nbytes(self) -> int:
        """Bytes the key arrays hold (for the benchmarks)."""
        return sum(len(k) * k.itemsize for k in self._by_prefix.values()
                   if isinstance(k, array))


def _small(keys) -> frozenset | None:
    return frozenset(keys) if len(keys) <= SMALL else None


def _merged(old, adds, drops):
    """``old`` (sorted, unique) with the keys ``adds`` (any order, repeats allowed) put in
    and ``drops`` (a set; none of them in ``adds``) taken out: a new sorted container of
    the same type; ``old`` is left as it was."""
    if len(adds) + len(drops) > len(old) // 4:
        # Many changes (the first load): sorting the lot costs less than slicing.
        ordered = sorted(chain(old, adds)) if len(old) else sorted(adds)
        if drops:
            ordered = [k for k in ordered if k not in drops]
        unique = ordered[:1]
        unique.extend(compress(ordered[1:], map(ne, ordered[1:], ordered)))
        return unique if isinstance(old, list) else array(old.typecode, unique)
    # (position in old, 0: insert the key there / 1: leave old[position] out)
    cuts = [(bisect_left(old, key), 0, key) for key in set(adds) if not _holds(old, key)]
    for key in drops:
        at = bisect_left(old, key)
        if at < len(old) and old[at] == key:
            cuts.append((at, 1, key))
    if not cuts:
        return old
    cuts.sort()
    new = old[:0]
    at = 0
    for position, skip, key in cuts:
        new.extend(old[at:position])
        if skip:
            at = position + 1
        else:
            new.append(key)
            at = position
    new.extend(old[at:])
    return new


def _holds(keys, key: int) -> bool:
    at = bisect_left(keys, key)
    return at < len(keys) and keys[at] == key
