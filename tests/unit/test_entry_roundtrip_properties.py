"""Issue 16 item 6: one validator for writer and reader. For every value ADDSMTPLE
accepts, the record it stores reads back (parse_record, as the server and every later
command read it) as the very entry asked for; for every value it refuses, nothing is
stored. Generated with hypothesis, including the issue's bricks (HOSTNAME(129), '1.2.3',
'999.1.1.1', '10.0.0.0') as explicit examples."""

from __future__ import annotations

import ipaddress

from hypothesis import example, given, settings
from hypothesis import strategies as st

from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import entry_from_parms, parse_record, read_back
from qtsmtp.messages import CLError

LABEL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
labels = st.text(LABEL_CHARS, min_size=1, max_size=12) | st.text("0123456789", min_size=1, max_size=3)
hostnames = st.builds(lambda dot, parts, end: dot + ".".join(parts) + end,
                      st.sampled_from(["", "."]), st.lists(labels, min_size=1, max_size=5),
                      st.sampled_from(["", "."])) | st.text(max_size=40)
ipv4 = st.builds(lambda n: str(ipaddress.IPv4Address(n)), st.integers(0, 2**32 - 1)) | st.text(
    "0123456789.x", max_size=16)
masks = st.builds(lambda p: str(ipaddress.IPv4Network(f"0.0.0.0/{p}").netmask),
                  st.integers(0, 32)) | st.text("0123456789.", max_size=16)
ipv6 = st.builds(lambda n: str(ipaddress.IPv6Address(n)), st.integers(0, 2**128 - 1))
texts = st.text(max_size=60)


def _parms(list_type: lt.ListType, draw) -> dict:
    kind = list_type.kind
    if kind == lt.IP4:
        return {"INTNETADR": draw(ipv4), "SUBNETMASK": draw(masks)}
    if kind == lt.IP6:
        return {"IP6NETADR": draw(ipv6), "IP6PFX": draw(st.integers(0, 128))}
    if kind == lt.HOST4:
        return {"INTNETADR": draw(ipv4)}
    if kind == lt.HOST6:
        return {"IP6NETADR": draw(ipv6)}
    if kind == lt.DOMAIN:
        extra = {"INTNETADR": draw(ipv4)} if draw(st.booleans()) and list_type.type == "*DOMAIN" else {}
        return {"HOSTNAME": draw(hostnames), **extra}
    if kind == lt.TEXT:
        return {"FTRDATA": draw(texts)}
    if kind == lt.CREDENTIAL:
        return {"HOSTNAME": draw(hostnames), "USERNAME": draw(texts), "PASSWORD": draw(texts)}
    # *NEAR, *ETRNSVR: a host name, or an address with its mask
    if draw(st.booleans()):
        return {"HOSTNAME": draw(hostnames)}
    return {"INTNETADR": draw(ipv4), "SUBNETMASK": draw(masks)}


@st.composite
def commands(draw):
    list_type = draw(st.sampled_from(sorted(lt.LIST_TYPES.values(), key=lambda t: t.type)))
    return list_type, _parms(list_type, draw)


def _near(parms):
    return lt.LIST_TYPES["*NEAR"], parms


@settings(max_examples=3000, deadline=None)
@given(commands())
@example(_near({"HOSTNAME": "129"}))
@example(_near({"HOSTNAME": "1.2.3"}))
@example(_near({"HOSTNAME": "999.1.1.1"}))
@example(_near({"HOSTNAME": "10.0.0.0"}))
@example((lt.LIST_TYPES["*ETRNSVR"], {"HOSTNAME": "mail.example.com"}))
@example((lt.LIST_TYPES["*ETRNSVR"], {"INTNETADR": "10.1.1.0", "SUBNETMASK": "255.255.255.0"}))
def test_what_the_writer_accepts_the_reader_reads_as_the_same_entry(command) -> None:
    list_type, parms = command
    try:
        entry = entry_from_parms(list_type, parms)
    except CLError:
        return                                   # refused: nothing stored
    read_back(entry)                             # the writer's own check passes ...
    again = parse_record(list_type, entry.record)   # ... and the reader agrees
    assert again is not None
    assert again.identity == entry.identity and again.record == entry.record
    assert "\n" not in entry.record and "\r" not in entry.record


@settings(max_examples=500, deadline=None)
@given(ipv4, masks)
@example("10.1.1.1", "255.255.255.255")
@example("010.1.1.1", "255.255.255.0")
@example("10.1.1.1", "255.0.255.0")
def test_an_ipv4_entry_in_canonical_form_is_made_as_ipaddress_would_make_it(address, mask):
    # ip4_entry takes a short way for a canonical address and mask (no ipaddress parse):
    # the same Entry, or the same refusal, as the long way.
    from qtsmtp.config import entries
    accept = lt.LIST_TYPES["*ACCEPT"]

    def made(short: bool):
        original = entries._canonical_ip4_entry
        if not short:
            entries._canonical_ip4_entry = lambda *a: None
        try:
            entry = entries.ip4_entry(accept, address, mask)
            return (entry, entry.record, entry.address, entry.network)
        except CLError as error:
            return [str(m) for m in error.messages]
        finally:
            entries._canonical_ip4_entry = original

    assert made(short=True) == made(short=False)
