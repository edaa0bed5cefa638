"""RelayPolicy and Decision beyond the table: construction, explanations, peer addresses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.address import AddressRefused, canonical_recipient
from qtsmtp.config.policy import (ALWRLY_VALUES, Decision, DomainTable, PrefixTable, RelayPolicy,
                                client_address)

T = lt.LIST_TYPES


def _policy(alwrly: str = "*LIST") -> RelayPolicy:
    return RelayPolicy.from_entries(
        alwrly,
        {"*ACCEPT": [entries.ip4_entry(T["*ACCEPT"], "10.1.0.0", "255.255.0.0")],
         "*REJECT": [entries.ip4_entry(T["*REJECT"], "10.9.9.9")]},
        local_domains=["mail.corp.example"], local_addresses=["127.0.0.1"])


def test_explain_names_rule_list_and_entry() -> None:
    d = _policy().check_recipient("10.1.1.5", canonical_recipient("user@far.example"))
    assert d.allowed and d.reply == "250 2.1.5 Recipient ok"
    assert d.explain() == ("relay allowed: ALWRLY(*LIST) and client 10.1.1.5 matches *ACCEPT "
                           "entry 10.1.0.0 255.255.0.0 (recipient user@far.example)")


def test_explain_refusals_and_local_mail() -> None:
    policy = _policy()
    relay = policy.check_recipient("10.2.2.2", canonical_recipient("user@far.example"))
    assert relay.explain() == ("relay refused: ALWRLY(*LIST) and client 10.2.2.2 matches no "
                               "*ACCEPT entry (recipient user@far.example)")
    assert relay.reply == "550 5.7.1 Relaying denied"
    connect = policy.check_connect("10.9.9.9")
    assert connect.explain() == ("connection refused: client 10.9.9.9 matches *REJECT entry "
                                 "10.9.9.9 255.255.255.255")
    # The reply itself names no list and no entry.
    assert connect.reply == "554 5.7.1 Access denied"
    assert policy.check_connect("10.1.1.1").explain() == (
        "connection accepted: client 10.1.1.1 matches no *REJECT entry")
    local = policy.check_recipient("10.2.2.2", canonical_recipient("x@MAIL.corp.example"))
    assert local.explain() == ("local recipient x@mail.corp.example: domain mail.corp.example "
                               "is a name of this system")


def test_explain_shows_what_was_written_when_routing_was_resolved() -> None:
    raw = "relaytest%far.example@[127.0.0.1]"
    d = _policy().check_recipient("10.2.2.2", canonical_recipient(raw))
    assert not d.allowed
    assert "relaytest@far.example" in d.explain() and repr(raw) in d.explain()


def test_address_refused_decision_quotes_the_raw_text_safely() -> None:
    raw = "a\r\nb@c"
    with pytest.raises(AddressRefused) as refused:
        canonical_recipient(raw)
    d = Decision.address_refused(refused.value, "10.1.1.1", raw)
    assert (d.code, d.enhanced, d.allowed, d.rule) == (501, "5.1.3", False, "ADDRESS")
    assert "\r" not in d.explain() and "\n" not in d.explain()


@pytest.mark.parametrize("value", ["*list", "LIST", " *Near ", "*BOTH", "*ALL", "*NONE"])
def test_alwrly_spellings(value: str) -> None:
    assert RelayPolicy(value).alwrly in ALWRLY_VALUES


@pytest.mark.parametrize("value", ["*SAME", "", "*YES", "LISTS"])
def test_alwrly_refuses_unknown_values(value: str) -> None:
    with pytest.raises(ValueError):
        RelayPolicy(value)


def test_local_addresses_must_be_addresses() -> None:
    with pytest.raises(ValueError):
        RelayPolicy("*LIST", local_addresses=["mail.corp.example"])


def test_from_entries_streams_and_ignores_unused_types() -> None:
    def accept():
        for n in range(5):
            yield entries.ip4_entry(T["*ACCEPT"], f"10.{n}.0.0", "255.255.0.0")

    policy = RelayPolicy.from_entries("*LIST", {
        "*ACCEPT": accept(),
        "*FTRSUBJECT": [entries.text_entry(T["*FTRSUBJECT"], "viagra")],
        "*SVRBIND": [entries.host_entry(T["*SVRBIND"], "10.0.0.1")],
        "*NEAR": [entries.domain_entry(T["*NEAR"], "partner.example"),
                  entries.ip4_entry(T["*NEAR"], "192.168.5.0", "255.255.255.0")],
        "*DOMAIN": [entries.domain_entry(T["*DOMAIN"], ".corp.example")],
        "*ACCEPTIP6": [entries.ip6_entry(T["*ACCEPTIP6"], "2001:db8::", 32)],
    })
    assert policy.sizes() == {"*ACCEPT": 5, "*ACCEPTIP6": 1, "*REJECT": 0, "*REJECTIP6": 0,
                              "*NEAR": 2, "*DOMAIN": 1}
    assert policy.check_recipient("10.4.9.9", canonical_recipient("a@b.example")).allowed


def test_duplicate_networks_count_once() -> None:
    # 10.1.1.5/24 and 10.1.1.0/24 are one entry (entries.py identity); so here.
    policy = RelayPolicy.from_entries("*LIST", {"*ACCEPT": [
        entries.ip4_entry(T["*ACCEPT"], "10.1.1.5", "255.255.255.0"),
        entries.ip4_entry(T["*ACCEPT"], "10.1.1.0", "255.255.255.0")]})
    assert policy.sizes()["*ACCEPT"] == 1


def test_authenticated_relay_is_reported_as_auth() -> None:
    d = _policy("*NONE").check_recipient("10.2.2.2", canonical_recipient("a@far.example"),
                                          authenticated=True)
    assert d.allowed and d.rule == "AUTH"
    assert d.explain().startswith("relay allowed: client 10.2.2.2 authenticated")


@pytest.mark.parametrize("ip, key", [
    ("10.1.2.3", (4, 0x0A010203)),
    ("0.0.0.0", (4, 0)),
    ("255.255.255.255", (4, 0xFFFFFFFF)),
    ("::ffff:10.1.2.3", (4, 0x0A010203)),
    ("::FFFF:a01:203", (4, 0x0A010203)),
    ("[::1]", (6, 1)),
    ("::1", (6, 1)),
    ("fe80::1%eth0", (6, 0xFE80 << 112 | 1)),
    ("::a01:203", (6, 0x0A010203)),          # IPv4-compatible is not IPv4-mapped
])
def test_client_address(ip: str, key: tuple[int, int]) -> None:
    assert client_address(ip) == key


@pytest.mark.parametrize("ip", ["", "10.1.2", "10.1.2.3.4", "10.1.2.256", "010.1.2.3",
                                " 10.1.2.3", "10.1.2.+3", "1_0.1.2.3", "١٠.1.2.3",
                                "localhost", "::g", "10.1.2.3/24"])
def test_client_address_refuses_non_addresses(ip: str) -> None:
    assert client_address(ip) is None


def test_prefix_table_reports_the_network_not_the_host() -> None:
    t4 = PrefixTable(32, "*ACCEPT")
    t4.add(0x0A010000, 16)
    assert t4.match(0x0A01FFFF) == 16 and t4.match(0x0A020000) == -1
    assert t4.record(0x0A01FFFF, 16) == "10.1.0.0 255.255.0.0"
    t6 = PrefixTable(128, "*ACCEPTIP6")
    t6.add(0x20010DB8 << 96, 32)
    address = 0x20010DB8 << 96 | 0xABCD
    assert t6.match(address) == 32
    assert t6.record(address, 32) == "2001:db8:: 32"


def test_domain_table_prefers_the_most_specific_entry() -> None:
    t = DomainTable()
    t.add(".example.org", "*NEAR")
    t.add(".b.example.org", "*NEAR")
    t.add("a.b.example.org", "*NEAR")
    assert t.match("a.b.example.org") == ("*NEAR", "a.b.example.org")
    assert t.match("x.a.b.example.org") == ("*NEAR", ".b.example.org")
    assert t.match("c.example.org") == ("*NEAR", ".example.org")
    assert t.match("example.org") == ("*NEAR", ".example.org")
    assert t.match("org") is None
    assert t.match("[127.0.0.1]") is None


@pytest.mark.parametrize("list_type, entry", [
    ("*DOMAIN", entries.ip4_entry(T["*ACCEPT"], "10.1.1.1")),
    ("*ACCEPT", entries.domain_entry(T["*NEAR"], "partner.example")),
    ("*NEAR", entries.ip6_entry(T["*ACCEPTIP6"], "2001:db8::", 32)),
])
def test_an_entry_of_the_wrong_kind_is_an_error(list_type: str, entry: entries.Entry) -> None:
    # The loader maps members to types; a mix-up must stop the load, not drop entries.
    with pytest.raises(ValueError):
        RelayPolicy.from_entries("*LIST", {list_type: [entry]})


# --- property: a client that may not relay only ever gets local or near mail through ---

_PIECES = st.sampled_from(list('ab.-_%!@"\\:,[]<> 1') + [
    "IPv6:", "::1", "127.0.0.1", "mail.corp.example", "far.example", "partner.example",
    "postmaster"])
_OURS = ("", "mail.corp.example", "[127.0.0.1]", "[ipv6:::1]")
_LIST = RelayPolicy("*LIST", ["mail.corp.example"], ["127.0.0.1", "::1"])
_NEAR = RelayPolicy.from_entries(
    "*NEAR", {"*NEAR": [entries.domain_entry(T["*NEAR"], "partner.example")]},
    ["mail.corp.example"], ["127.0.0.1", "::1"])


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.lists(_PIECES, max_size=10).map("".join), st.text(max_size=40)))
def test_a_refused_client_gets_only_local_or_near_mail_through(raw: str) -> None:
    try:
        recipient = canonical_recipient(raw)
    except AddressRefused:
        return
    for policy in (_LIST, _NEAR):
        decision = policy.check_recipient("10.2.2.2", recipient)
        if not decision.allowed:
            assert (decision.code, decision.enhanced) == (550, "5.7.1")
        elif decision.rule == "LOCAL":
            assert recipient.domain in _OURS and recipient.via in _OURS
            assert not any(c in recipient.local_part for c in "@%!")
        else:
            # Relayed: only under *NEAR, and only to the near domain, where it is queued.
            assert policy is _NEAR and recipient.domain == "partner.example", recipient
