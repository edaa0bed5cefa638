"""The canonical IPv4 fast path of list entries (no ipaddress) against ipaddress.

ip4_entry takes a canonical dotted address and mask without ipaddress (a CL command
starts without importing it); everything else goes through parsed_ip4_entry, which
parses with ipaddress. The fast path may only ever give the Entry ipaddress gives
(record, identity, network, address), or decline: it never accepts what ipaddress
refuses, nor answers with a message of its own. And an identity's list-index bucket is
the one index files hold (written when an identity held its ipaddress network).
"""

from __future__ import annotations

import ipaddress
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.listindex import _ip4_bucket, bucket
from qtsmtp.messages import CLError

ACCEPT = lt.LIST_TYPES["*ACCEPT"]
NEAR = lt.LIST_TYPES["*NEAR"]


def outcome(make, list_type, address, mask):
    try:
        return "entry", make(list_type, address, mask)
    except CLError as error:
        return "error", [(m.id, m.text) for m in error.messages]


def assert_agree(address: str, mask: str) -> None:
    for list_type in (ACCEPT, NEAR):
        parsed = outcome(entries.parsed_ip4_entry, list_type, address, mask)
        fast = entries._canonical_ip4_entry(list_type, address, mask)
        if fast is not None:
            assert parsed == ("entry", fast), (address, mask)
            assert fast.network == parsed[1].network          # made from ints, lazily
            assert isinstance(fast.network, ipaddress.IPv4Network)
        assert outcome(entries.ip4_entry, list_type, address, mask) == parsed, (address, mask)


TABLE = [
    ("10.1.1.1", "255.255.255.255"), ("10.1.1.5", "255.255.255.0"), ("0.0.0.0", "0.0.0.0"),
    ("255.255.255.255", "255.255.255.255"), ("1.2.3.4", "128.0.0.0"), ("10.1.1.1", "255.255.255.254"),
    ("010.1.1.1", "255.255.255.0"), ("10.1.1", "255.255.255.0"), ("10.1", "255.0.0.0"),
    ("0x0a.1.1.1", "255.0.0.0"), ("10.1.1.1", "0xffffff00"), ("10.1.1.1", "255.255.255.00"),
    ("1.2.3.04", "255.255.255.255"), ("4294967295", "255.255.255.255"), ("10.1.1.1", "255.255.0.255"),
    ("10.1.1.1", "0.255.255.255"), ("10.1.1.1", "24"), ("10.1.1.1/24", "255.255.255.255"),
    ("10.1.1.999", "255.255.255.255"), ("10.1.1.1", "255.255.255.256"), ("::1", "255.255.255.255"),
    ("fe80::1", "255.255.255.0"), ("１.２.３.４", "255.255.255.255"), ("1.2.3.4", "２５５.0.0.0"),
    ("10.1.1.1 ", "255.255.255.255"), (" 10.1.1.1", "255.255.255.255"), ("10.1.1.1\n", "255.0.0.0"),
    ("10.1.1.1", " 255.0.0.0"), ("", "255.255.255.255"), ("10.1.1.1", ""), ("10.1.1.\u00e9", "0.0.0.0"),
    ("10.1.1.1\x00", "255.0.0.0"), ("1.2.3.4.5", "255.0.0.0"), ("-1.2.3.4", "255.0.0.0"),
    ("+1.2.3.4", "255.0.0.0"), ("1..3.4", "255.0.0.0"), (".1.2.3", "255.0.0.0"), ("1.2.3.", "255.0.0.0"),
    ("127.0.0.1", "255.255.255.128"), ("10.1.1.1", "255.255.255.0."), ("1e1.0.0.0", "255.0.0.0"),
]


@pytest.mark.parametrize(("address", "mask"), TABLE)
def test_table_fast_path_and_ipaddress_agree(address, mask):
    assert_agree(address, mask)


def test_the_table_takes_both_paths():
    fast = [(a, m) for a, m in TABLE if entries._canonical_ip4_entry(ACCEPT, a, m) is not None]
    refused = [(a, m) for a, m in TABLE if outcome(entries.ip4_entry, ACCEPT, a, m)[0] == "error"]
    assert len(fast) >= 6 and len(refused) >= 20


octet = st.one_of(st.integers(0, 255).map(str), st.integers(0, 999).map(str),
                  st.integers(0, 255).map(lambda n: f"0{n}"), st.integers(0, 255).map(hex),
                  st.sampled_from(["", " 1", "1 ", "+1", "-1", "٣", "1_0", "0x", "00"]))
dotted = st.lists(octet, min_size=1, max_size=5).map(".".join)
mask = st.one_of(
    st.integers(0, 32).map(lambda p: str(ipaddress.IPv4Address((0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF))),
    dotted, st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n))))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(dotted, st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))),
       mask)
def test_generated_addresses_agree(address, mask):
    assert_agree(address, mask)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789.:x ", max_size=20), st.text(alphabet="0123456789.", max_size=16))
def test_generated_text_agrees(address, mask):
    assert_agree(address, mask)


def _old_bucket(tag: str, network) -> int:
    # listindex.bucket when an identity was ("ip", <ipaddress network>): what index
    # files on disk hold
    return zlib.crc32(b"%s %d %d " % (tag.encode(), network.version, network.prefixlen)
                      + network.network_address.packed)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 32), st.integers(0, 2**128 - 1), st.integers(0, 128))
def test_index_buckets_are_those_on_disk(v4, p4, v6, p6):
    net4 = ipaddress.IPv4Network((v4 >> (32 - p4) << (32 - p4), p4))
    net6 = ipaddress.IPv6Network((v6 >> (128 - p6) << (128 - p6), p6))
    entry4 = entries.ip4_entry(ACCEPT, str(net4.network_address), str(net4.netmask))
    entry6 = entries.ip6_entry(lt.LIST_TYPES["*ACCEPTIP6"], str(net6.network_address), p6)
    assert bucket(entry4.identity) == _old_bucket("ip", net4) == _ip4_bucket(
        int(net4.network_address), p4)
    assert bucket(entry6.identity) == _old_bucket("ip", net6)
    assert entry4.identity == ("ip", 4, int(net4.network_address), p4)
