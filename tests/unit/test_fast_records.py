"""entries.parse_record_fast (and canonical_ip4_network) must be parse_record, only sooner.

For every record, in every list type: the same Entry (dataclass equality: record text,
identity, network, address), or None for both, or the same CL error (message ID and
text) - the fast path may only ever decline and leave the record to parse_record.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp.messages import CLError
from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt


def outcome(parse, list_type: lt.ListType, line: str):
    try:
        return ("entry", parse(list_type, line))
    except CLError as error:
        return ("error", [str(message) for message in error.messages])


def assert_same(list_type: lt.ListType, line: str) -> None:
    fast = outcome(entries.parse_record_fast, list_type, line)
    slow = outcome(entries.parse_record, list_type, line)
    assert fast == slow, (list_type.type, line)
    # The server's loader takes a (network, prefix) pair instead of the Entry, when
    # there is one: it must be the Entry's network.
    pair = entries.canonical_ip4_network(list_type, line)
    if pair is not None:
        assert slow[0] == "entry" and slow[1] is not None, (list_type.type, line)
        assert ipaddress.IPv4Network(pair) == slow[1].network, (list_type.type, line)


RECORDS = [
    # what ADDSMTPLE writes, and hand-edited variants of it
    "10.1.1.0 255.255.255.0", "10.1.1.5 255.255.255.0", "10.1.1.1 255.255.255.255",
    "10.1.1.1", "0.0.0.0 0.0.0.0", "255.255.255.255 255.255.255.255", "192.168.0.0 255.255.0.0",
    "172.16.0.0 255.240.0.0", "1.2.3.4 128.0.0.0", "1.2.3.4 255.255.255.254",
    "  10.1.1.5   255.255.255.0  ", "\t10.1.1.1\t255.0.0.0", "10.1.1.1 255.255.255.0\r",
    # not canonical: inet_aton takes them, parse_record decides
    "010.1.1.1 255.255.255.0", "10.1.1 255.255.255.0", "10.1 255.0.0.0", "0x0a.1.1.1",
    "10.1.1.1 0xffffff00", "10.1.1.1 255.255.255.00", "1.2.3.04", "4294967295",
    "10.1.1.1 255.255.0.255", "10.1.1.1 0.255.255.255", "10.1.1.1 24", "10.1.1.1/24",
    "10.1.1.999", "10.1.1.1 255.255.255.256", "10.1.1.1 255.255.255.0 extra",
    "::1", "::1 64", "fe80::1 255.255.255.0", "１.２.３.４", "1.2.3.4 ２５５.0.0.0",
    "10.1.1.1#x", "#10.1.1.1 255.255.255.0", "# office", "", "   ", "abc", "10.1.1.1 abc",
    "10.1.1.\u00e9", "10.1.1.1\u00a0255.255.255.0", "10.1.1.1\x00", " \x0b10.1.1.1 255.0.0.0",
    "example.com", ".example.com", "example.com 10.1.1.1",
]

LIST_TYPES = sorted(lt.LIST_TYPES.values(), key=lambda t: t.type)


@pytest.mark.parametrize("line", RECORDS)
def test_fast_path_agrees_for_every_list_type(line: str) -> None:
    for list_type in LIST_TYPES:
        assert_same(list_type, line)


def test_the_fast_path_is_taken_for_plain_records(monkeypatch) -> None:
    accept = lt.LIST_TYPES["*ACCEPT"]
    monkeypatch.setattr(entries, "parse_record", lambda *a: pytest.fail("slow path taken"))
    for line in ("10.1.1.0 255.255.255.0", "10.1.1.1", " 192.168.1.7\t255.255.255.128 "):
        assert entries.parse_record_fast(accept, line) is not None


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 32), st.integers(0, 2**32 - 1))
def test_fast_path_agrees_on_random_networks(address: int, prefix: int, noise: int) -> None:
    accept = lt.LIST_TYPES["*ACCEPT"]
    dotted = str(ipaddress.IPv4Address(address))
    mask = str(ipaddress.IPv4Address(0xFFFFFFFF << (32 - prefix) & 0xFFFFFFFF))
    assert_same(accept, f"{dotted} {mask}")
    assert_same(accept, f"{dotted} {ipaddress.IPv4Address(noise)}")   # mostly not contiguous


_PIECES = st.sampled_from(["1", "0", "25", "255", "256", "01", ".", " ", "\t", "x", "/", ":",
                           "0x", "#", "٣", "\u00a0", "-", "10.1.1.1", "255.255.255.0"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PIECES, max_size=12))
def test_fast_path_agrees_on_generated_text(pieces: list[str]) -> None:
    line = "".join(pieces)
    for list_type in (lt.LIST_TYPES["*ACCEPT"], lt.LIST_TYPES["*REJECT"], lt.LIST_TYPES["*NEAR"]):
        assert_same(list_type, line)


def assert_block_agrees(lines: list[str]) -> None:
    """canonical_ip4_block of these lines (as a member holds them, each ending in "\\n")
    is what canonical_ip4_network says line by line, or None when that says None for any
    line (the loader then reads the block line by line)."""
    accept = lt.LIST_TYPES["*ACCEPT"]
    data = "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")
    block = entries.canonical_ip4_block(data)
    one_by_one = []
    for line in lines:
        pair = entries.canonical_ip4_network(accept, line)
        if pair is None or len(line.split()) != 2 or line != " ".join(line.split()):
            one_by_one = None
            break
        one_by_one.append(pair)
    if block is None:
        # Declining is always allowed; it must decline whatever is not plain.
        assert one_by_one is None or not lines or any("\r" in line for line in lines), lines
        return
    assert one_by_one is not None, lines
    got = sorted((key << (32 - prefix), prefix) for prefix, keys in block.items() for key in keys)
    assert got == sorted(one_by_one), lines


@pytest.mark.parametrize("line", RECORDS)
def test_the_block_path_takes_only_plain_records(line: str) -> None:
    assert_block_agrees([line])
    assert_block_agrees(["10.1.1.1 255.255.255.255", line, "10.2.0.0 255.255.0.0"])


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=8).map("".join), max_size=6))
def test_the_block_path_agrees_on_generated_lines(lines: list[str]) -> None:
    assert_block_agrees([line for line in lines if "\n" not in line])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)), min_size=1, max_size=20))
def test_the_block_path_agrees_on_random_networks(networks: list[tuple[int, int]]) -> None:
    assert_block_agrees([f"{ipaddress.IPv4Address(address)} "
                         f"{ipaddress.IPv4Address(0xFFFFFFFF << (32 - prefix) & 0xFFFFFFFF)}"
                         for address, prefix in networks])
