"""canonical_recipient: what an RCPT TO address really means, or why it is refused."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qtsmtp.config.address import (BANG_PATH, PERCENT_HACK, SOURCE_ROUTE, AddressRefused,
                                 Recipient, address_literal, canonical_recipient)

# raw -> (local_part, domain, routing_chars, via, resolved)
CANONICAL = [
    ("user@example.com", ("user", "example.com", False, "", "")),
    ("<user@example.com>", ("user", "example.com", False, "", "")),
    (" user@example.com ", ("user", "example.com", False, "", "")),
    ("User.Name+tag@Example.COM", ("User.Name+tag", "example.com", False, "", "")),
    ("user@example.com.", ("user", "example.com", False, "", "")),
    ("o'brien@under_score.example", ("o'brien", "under_score.example", False, "", "")),
    ("user@bücher.example", ("user", "bücher.example", False, "", "")),
    ("postmaster", ("postmaster", "", False, "", "")),
    ("POSTMASTER", ("postmaster", "", False, "", "")),
    ('"postmaster"', ("postmaster", "", False, "", "")),
    ("PostMaster@Example.com", ("PostMaster", "example.com", False, "", "")),
    # Address literals: normalised so the policy compares them by equality.
    ("user@[127.0.0.1]", ("user", "[127.0.0.1]", False, "", "")),
    ("user@[IPv6:::1]", ("user", "[ipv6:::1]", False, "", "")),
    ("user@[IPv6:2001:DB8:0:0::1]", ("user", "[ipv6:2001:db8::1]", False, "", "")),
    ("user@[ipv6:0:0:0:0:0:0:0:1]", ("user", "[ipv6:::1]", False, "", "")),
    ("user@[::1]", ("user", "[ipv6:::1]", False, "", "")),
    ("user@[IPv6:::ffff:127.0.0.1]", ("user", "[127.0.0.1]", False, "", "")),
    # Source routes are ignored (RFC 5321 4.1.1.3): the mailbox decides.
    ("@a.example:user@d.example", ("user", "d.example", False, "", SOURCE_ROUTE)),
    ("@a.example,@b.example:user@d.example", ("user", "d.example", False, "", SOURCE_ROUTE)),
    ("@[127.0.0.1]:user@d.example", ("user", "d.example", False, "", SOURCE_ROUTE)),
    ("@[IPv6:::1],@b.example:user@d.example", ("user", "d.example", False, "", SOURCE_ROUTE)),
    ("<@a.example:user@d.example>", ("user", "d.example", False, "", SOURCE_ROUTE)),
    # The percent hack: the rightmost % names the next destination (Sendmail).
    ("user%other.example@host.example",
     ("user", "other.example", False, "host.example", PERCENT_HACK)),
    ("user%Other.Example.@host", ("user", "other.example", False, "host", PERCENT_HACK)),
    ("a%b%c@host", ("a%b", "c", True, "host", PERCENT_HACK)),
    ("user%other.example", ("user", "other.example", False, "", PERCENT_HACK)),
    ("user%other@[127.0.0.1]", ("user", "other", False, "[127.0.0.1]", PERCENT_HACK)),
    ("@r.example:user%o.example@h.example",
     ("user", "o.example", False, "h.example", "source route + percent hack")),
    # Bang paths: the first element is the next destination (UUCP).
    ("dom.example!user", ("user", "dom.example", False, "", BANG_PATH)),
    ("a!b!user@host", ("b!user", "a", True, "host", BANG_PATH)),
    ("Dom.Example!user@[127.0.0.1]", ("user", "dom.example", False, "[127.0.0.1]", BANG_PATH)),
    # Quoted local parts are opaque, but routing characters inside are flagged.
    ('"john smith"@example.com', ('"john smith"', "example.com", False, "", "")),
    ('"user@evil.example"@host', ('"user@evil.example"', "host", True, "", "")),
    ('"user%evil.example"@host', ('"user%evil.example"', "host", True, "", "")),
    ('"evil.example!user"@host', ('"evil.example!user"', "host", True, "", "")),
    ('"a\\"b"@host', ('"a\\"b"', "host", False, "", "")),
    ('"a\\@b"@host', ('"a\\@b"', "host", True, "", "")),
]


@pytest.mark.parametrize("raw, expected", CANONICAL, ids=[r for r, _ in CANONICAL])
def test_canonical(raw: str, expected: tuple) -> None:
    r = canonical_recipient(raw)
    assert (r.local_part, r.domain, r.routing_chars, r.via, r.resolved) == expected
    assert r.original == raw


# raw -> (code, enhanced)
REFUSED = [
    ("", (501, "5.1.3")),
    ("<>", (501, "5.1.3")),
    ("   ", (501, "5.1.3")),
    ("user\x00@example.com", (501, "5.1.3")),
    ("user@example.com\r\nRCPT TO:<x@y>", (501, "5.1.3")),
    ("us\ter@example.com", (501, "5.1.3")),
    ("user@exa\x7fmple.com", (501, "5.1.3")),
    ("user@exa\u200bmple.com", (501, "5.1.3")),            # zero-width space
    ("user", (501, "5.1.3")),                               # only postmaster may lack a domain
    ('"relaytest@far.example"', (501, "5.1.3")),
    ('"relaytest%far.example"', (501, "5.1.3")),
    ("user@", (501, "5.1.3")),
    ("user@.", (501, "5.1.3")),
    ("@example.com", (501, "5.1.3")),
    ("a@b@c", (501, "5.1.3")),                              # more than one unquoted @
    ("relaytest@far.example@[127.0.0.1]", (501, "5.1.3")),
    ('"x"@a@b', (501, "5.1.3")),
    ("user name@example.com", (501, "5.1.3")),
    ("user<x>@example.com", (501, "5.1.3")),
    ("us:er@example.com", (501, "5.1.3")),
    ('us"er"@example.com', (501, "5.1.3")),
    ('"unterminated@example.com', (501, "5.1.3")),
    ('"x"y@example.com', (501, "5.1.3")),
    ("user@exa mple.com", (501, "5.1.3")),
    ("user@-example.com", (501, "5.1.3")),
    ("user@example..com", (501, "5.1.3")),
    ("user@example.com..", (501, "5.1.3")),
    ("user@exam%ple.com", (501, "5.1.3")),
    ("user@" + "a" * 64 + ".com", (501, "5.1.3")),          # label over 63
    ("user@" + "a." * 130 + "com", (501, "5.1.3")),         # name over 253
    ("u" * 600 + "@example.com", (501, "5.1.3")),
    ("user@[999.1.1.1]", (501, "5.1.3")),
    ("user@[127.0.0.1", (501, "5.1.3")),
    ("user@[]", (501, "5.1.3")),
    ("user@[IPv6:fe80::1%eth0]", (501, "5.1.3")),
    ("user@[IPv6:nonsense]", (501, "5.1.3")),
    ("user@[tag:content]", (501, "5.1.3")),
    ("user@[010.0.0.1]", (501, "5.1.3")),
    ("@a.example", (501, "5.1.3")),                         # route without a mailbox
    ("@a.example:", (501, "5.1.3")),
    ("@a.example:@b.example", (501, "5.1.3")),
    ("@:user@d.example", (501, "5.1.3")),
    ("@a.example;user@d.example", (501, "5.1.3")),
    ("@[127.0.0.1:user@d.example", (501, "5.1.3")),
    ("%other@host", (501, "5.1.3")),
    ("user%@host", (501, "5.1.3")),
    ("!user@host", (501, "5.1.3")),
    ("dom!@host", (501, "5.1.3")),
    ("a!b%c@host", (501, "5.1.3")),                         # ambiguous: ! and % together
    ("a%b!c@host", (501, "5.1.3")),
]


@pytest.mark.parametrize("raw, expected", REFUSED, ids=[repr(r)[:60] for r, _ in REFUSED])
def test_refused(raw: str, expected: tuple) -> None:
    with pytest.raises(AddressRefused) as refused:
        canonical_recipient(raw)
    assert (refused.value.code, refused.value.enhanced) == expected
    # The reply never echoes the address (it may hold bytes we will not send back).
    assert raw.strip() == "" or raw not in refused.value.text


def test_refusal_is_a_complete_reply() -> None:
    with pytest.raises(AddressRefused) as refused:
        canonical_recipient("a@b@c")
    assert str(refused.value).startswith("501 5.1.3 ")
    assert isinstance(refused.value, Exception)


def test_recipient_is_frozen_and_has_an_address() -> None:
    r = canonical_recipient("User@Example.COM")
    assert r.address == "User@example.com"
    assert canonical_recipient("postmaster").address == "postmaster"
    with pytest.raises(AttributeError):
        r.domain = "evil.example"  # type: ignore[misc]


@pytest.mark.parametrize("ip, literal", [
    ("127.0.0.1", "[127.0.0.1]"), ("[127.0.0.1]", "[127.0.0.1]"), ("::1", "[ipv6:::1]"),
    ("2001:DB8::0:1", "[ipv6:2001:db8::1]"), ("::ffff:10.1.1.1", "[10.1.1.1]"),
])
def test_address_literal(ip: str, literal: str) -> None:
    assert address_literal(ip) == literal


def test_address_literal_refuses_a_name() -> None:
    with pytest.raises(ValueError):
        address_literal("mail.example.com")


# --- nmap smtp-open-relay, both as written and as aiosmtpd hands them over --------------

DOMAIN, IP, HOST = "nmap.scanme.org", "127.0.0.1", "mail.corp.example"
NMAP_RCPT = [
    f"relaytest@{DOMAIN}", f'"relaytest@{DOMAIN}"', f"relaytest%{DOMAIN}@[{IP}]",
    f"relaytest%{DOMAIN}@{HOST}", f'"relaytest%{DOMAIN}"', f"relaytest@{DOMAIN}@[{IP}]",
    f'"relaytest@{DOMAIN}"@[{IP}]', f"relaytest@{DOMAIN}@{HOST}", f"@[{IP}]:relaytest@{DOMAIN}",
    f"@{HOST}:relaytest@{DOMAIN}", f"{DOMAIN}!relaytest", f"{DOMAIN}!relaytest@[{IP}]",
    f"{DOMAIN}!relaytest@{HOST}",
]
OURS = {HOST, f"[{IP}]"}


def _goes_to_domain_or_hides_a_route(r: Recipient) -> bool:
    # What the policy needs to refuse it for a client that may not relay: the real
    # destination is DOMAIN, or our own name with routing characters left in the local part.
    return r.domain == DOMAIN or (r.domain in OURS and r.routing_chars)


@pytest.mark.parametrize("raw", NMAP_RCPT)
def test_nmap_addresses_never_look_local(raw: str) -> None:
    try:
        r = canonical_recipient(raw)
    except AddressRefused as refused:
        assert refused.code >= 500
        return
    assert _goes_to_domain_or_hides_a_route(r), r


@pytest.mark.parametrize("raw", NMAP_RCPT)
def test_nmap_addresses_through_aiosmtpd_parser(raw: str) -> None:
    # aiosmtpd parses RCPT TO with the email package: it unquotes "relaytest%DOMAIN",
    # drops source routes and refuses some forms itself (553). Whatever it passes on
    # must still resolve to DOMAIN or be refused here.
    import email._header_value_parser as header_parser  # stdlib: always there
    try:
        parsed, _ = header_parser.get_angle_addr(f"<{raw}>")
    except header_parser.errors.HeaderParseError:
        return                          # aiosmtpd answers 553 itself
    try:
        r = canonical_recipient(parsed.addr_spec)
    except AddressRefused:
        return
    assert _goes_to_domain_or_hides_a_route(r), (parsed.addr_spec, r)


# --- properties ------------------------------------------------------------------------

ADDRESSY = st.text(alphabet=st.sampled_from(list('ab.-_%!@"\\:,[]<> \x00\t1:fF')), max_size=40)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.text(max_size=80), ADDRESSY))
@example("\udcff@x")                    # a lone surrogate, as surrogateescape decoding gives
@example('"@"@"@"')
@example("@[")
def test_any_text_gives_a_recipient_or_a_refusal(raw: str) -> None:
    try:
        r = canonical_recipient(raw)
    except AddressRefused as refused:
        assert 500 <= refused.code < 600 and refused.enhanced.startswith("5.")
        return
    assert isinstance(r, Recipient)
    assert r.domain == r.domain.lower() and not r.domain.endswith(".")
    assert r.local_part
    assert "@" not in r.domain and " " not in r.domain
    assert r.domain or r.local_part == "postmaster"
    if not r.resolved and not r.routing_chars:
        # Nothing was rewritten: the canonical form reads back as itself.
        again = canonical_recipient(r.address)
        assert (again.local_part, again.domain) == (r.local_part, r.domain)
