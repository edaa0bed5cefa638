"""Recipient canonicalisation: what an RCPT TO address really means (RFC 2505 section 2.1).

A relay that decides on the text as written is open to every old routing syntax: the
percent hack (``user%other@us``), bang paths (``other!user@us``), source routes
(``@us:user@other``), quoted local parts (``"user@other"@us``) and doubled ``@``. Each one
names "us" where a naive check looks, and another system where the mail would really go.
``canonical_recipient`` resolves them into the destination the relay decision must use, or
refuses the address outright when it cannot be given one safe meaning.

Pure string work: this runs for every RCPT, so no parser objects, two precompiled regexes.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# RFC 5321 limits a path to 256 octets; we allow twice that before calling it an attack,
# so a slightly long but honest address is not refused for its length alone.
MAX_ADDRESS_LENGTH = 512

# Anything that is not atext or "." (RFC 5322 3.2.3) in an unquoted local part. Non-ASCII
# is left alone: SMTPUTF8 (RFC 6531) allows it, and the policy never trusts a local part.
_BAD_LOCAL_CHAR = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\x80-\U0010ffff]")

# A lower-cased host name: labels of letters, digits, "_" and inner "-". \w accepts
# non-ASCII letters (U-labels of internationalised names); underscore is common in the
# wild (SRV-style names) and harmless here.
_DOMAIN = re.compile(r"(?:\w(?:[\w-]{0,61}\w)?\.)*\w(?:[\w-]{0,61}\w)?\Z")

SOURCE_ROUTE, PERCENT_HACK, BANG_PATH = "source route", "percent hack", "bang path"

# RFC 5321 Dot-string: atoms joined by single dots. A local part that is not one must be
# written quoted (Quoted-string), or it means something else to the next hop.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\x80-\U0010ffff]+"
_DOT_STRING = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*\Z")


_QUOTED_PAIR = re.compile(r"\\(.)")


def quoted_local_part(local: str) -> str:
    """``local`` (a local part as its characters, unquoted) as it must be written in an
    SMTP path: as is when it is a Dot-string, else a Quoted-string (RFC 5321 4.1.2)."""
    if _DOT_STRING.match(local):
        return local
    return '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _path_like(local: str) -> str:
    """Why a local part (its characters) could be read as a path, or "": a recipient's
    local part may end up as a mailbox name on this system, and no client may name a
    directory with it (issue 16: ``../../etc@localhost``)."""
    if "/" in local or "\\" in local:
        return "/ or \\ in the local part"
    if local.startswith(".") or ".." in local:
        return "the local part begins with a dot or holds two in a row"
    return ""


@dataclass(frozen=True, slots=True)
class Recipient:
    """A recipient as the relay decision sees it.

    ``domain`` is where the mail really goes (and where it must be queued for: use
    ``address``, never ``original``): lower case, no trailing dot, an address literal as
    ``[192.0.2.1]`` or ``[ipv6:2001:db8::1]``, or "" for the bare local ``postmaster``.
    ``via`` is the domain the address named after its "@" when a percent hack or bang
    path moved the destination elsewhere; the policy takes the address for local mail
    only when both are local. ``routing_chars`` says the local part still holds "@", "%"
    or "!" after resolution (quoted, or a repeated hack): behind a local domain that is a
    route to an unknown system, and the policy handles it as a relay.
    """

    local_part: str
    domain: str
    original: str
    routing_chars: bool = False
    via: str = ""
    resolved: str = ""          # what was resolved: "", BANG_PATH, "source route + bang path"...

    @property
    def address(self) -> str:
        return f"{self.local_part}@{self.domain}" if self.domain else self.local_part


class AddressRefused(Exception):
    """The address is refused whoever the client is; ``code enhanced text`` is the reply."""

    def __init__(self, code: int, enhanced: str, text: str):
        super().__init__(f"{code} {enhanced} {text}")
        self.code = code
        self.enhanced = enhanced
        self.text = text


def _syntax(detail: str) -> AddressRefused:
    # The reply never echoes the address: it may hold bytes we will not send back.
    return AddressRefused(501, "5.1.3", f"Bad recipient address syntax: {detail}")


def canonical_recipient(raw: str) -> Recipient:
    """The recipient ``raw`` (the text inside RCPT TO:<...>) really names, or AddressRefused."""
    # isprintable() is False for NUL, CR, LF, TAB, DEL and invisible format characters:
    # one C-level test instead of a scan.
    if not raw.isprintable():
        raise _syntax("control or invisible character")
    addr = raw.strip(" ")
    if addr.startswith("<") and addr.endswith(">"):
        addr = addr[1:-1]
    if not addr:
        raise _syntax("empty recipient")
    if len(addr) > MAX_ADDRESS_LENGTH:
        raise _syntax("address too long")

    resolved = ""
    if addr[0] == "@":
        # RFC 5321 4.1.1.3: a relay may ignore a source route and deliver to the mailbox
        # itself; so the decision is made on the mailbox, never on the route's first hop.
        addr = _strip_source_route(addr)
        resolved = SOURCE_ROUTE

    if addr[0] == '"':
        return _quoted(addr, raw, resolved)

    if addr.count("@") > 1:
        # Not valid RFC 5321, and MTAs disagree on which "@" counts (the nmap tests
        # relaytest@far@[us] rely on that): refused for every client as a syntax error,
        # not as a policy refusal, because no client may send it.
        raise _syntax("more than one @")
    local, at, domain_text = addr.partition("@")
    if not local:
        raise _syntax("empty local part")
    if _BAD_LOCAL_CHAR.search(local):
        raise _syntax("character not allowed in an unquoted local part")
    path_like = _path_like(local)
    if path_like:
        raise _syntax(path_like)
    domain = _canonical_domain(domain_text) if at else ""
    if at and not domain:
        raise _syntax("empty domain")

    has_bang, has_percent = "!" in local, "%" in local
    if has_bang and has_percent:
        # Sendmail, UUCP and qmail order these differently; no single meaning is safe.
        raise _syntax("both ! and % routing in one address")
    if has_bang:
        # UUCP: first!rest means "send rest to first"; first is the next destination.
        hop, _, rest = local.partition("!")
        if not rest:
            raise _syntax("empty user in a ! path")
        return Recipient(rest, _required_domain(hop), raw, "!" in rest, domain,
                         _also(resolved, BANG_PATH))
    if has_percent:
        # Sendmail: a%b%c@us -> a%b@c, the rightmost % is the next destination.
        rest, _, hop = local.rpartition("%")
        if not rest:
            raise _syntax("empty user in a % route")
        return Recipient(rest, _required_domain(hop), raw, "%" in rest, domain,
                         _also(resolved, PERCENT_HACK))
    if not at:
        return _bare(local, raw, resolved)
    return Recipient(local, domain, raw, False, "", resolved)


def address_literal(ip: str) -> str:
    """The domain form an address literal of ``ip`` canonicalises to ("[192.0.2.1]",
    "[ipv6:2001:db8::1]"), so the policy can recognise its own addresses by equality.
    Raises ValueError when ``ip`` is not an IP address."""
    text = ip.strip()
    try:
        return _canonical_literal(text if text.startswith("[") else f"[{text}]")
    except AddressRefused:
        raise ValueError(f"{ip!r} is not an IP address") from None


def _also(resolved: str, more: str) -> str:
    return f"{resolved} + {more}" if resolved else more


def _quoted(addr: str, raw: str, resolved: str) -> Recipient:
    # A quoted local part is opaque: the domain after it decides where mail goes. But
    # "user@other" quoted is exactly how nmap hides a route, so it is flagged.
    end = _closing_quote(addr)
    local, rest = addr[:end + 1], addr[end + 1:]
    if rest and rest[0] != "@":
        raise _syntax("text after a quoted local part")
    domain_text = rest[1:]
    if "@" in domain_text:
        raise _syntax("more than one @")
    routing = "@" in local or "%" in local or "!" in local
    path_like = _path_like(_QUOTED_PAIR.sub(r"\1", local[1:-1]))
    if path_like:
        raise _syntax(path_like)
    if not rest:
        content = local[1:-1]
        if content.lower() == "postmaster":
            return Recipient("postmaster", "", raw, False, "", resolved)
        raise _syntax("domain required")
    domain = _canonical_domain(domain_text)
    if not domain:
        raise _syntax("empty domain")
    return Recipient(local, domain, raw, routing, "", resolved)


def _closing_quote(addr: str) -> int:
    i, n = 1, len(addr)
    while i < n:
        c = addr[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i
        else:
            i += 1
    raise _syntax("unterminated quoted local part")


def _bare(local: str, raw: str, resolved: str) -> Recipient:
    # RFC 5321 4.5.1: only "postmaster" may come without a domain; it means ours.
    if local.lower() == "postmaster":
        return Recipient("postmaster", "", raw, False, "", resolved)
    raise _syntax("domain required")


def _strip_source_route(addr: str) -> str:
    """The mailbox after "@hop1,@hop2:"; each hop must at least be a valid domain."""
    i, n = 0, len(addr)
    while i < n and addr[i] == "@":
        i += 1
        if addr.startswith("[", i):
            j = addr.find("]", i) + 1
            if not j:
                raise _syntax("unterminated address literal in source route")
        else:
            j = i
            while j < n and addr[j] not in ",:":
                j += 1
        _required_domain(addr[i:j])
        if j >= n:
            break
        if addr[j] == ":":
            mailbox = addr[j + 1:]
            if not mailbox or mailbox[0] == "@":
                raise _syntax("no mailbox after source route")
            return mailbox
        if addr[j] != ",":
            break
        i = j + 1
    raise _syntax("malformed source route")


def _required_domain(text: str) -> str:
    domain = _canonical_domain(text)
    if not domain:
        raise _syntax("empty domain")
    return domain


def _canonical_domain(text: str) -> str:
    """Lower case, one trailing dot dropped, literals normalised; "" for an empty domain."""
    if text.startswith("["):
        return _canonical_literal(text)
    domain = text.lower()
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain:
        return ""
    if len(domain) > 253 or not _DOMAIN.match(domain):
        raise _syntax("domain not valid")
    return domain


def _canonical_literal(text: str) -> str:
    if not text.endswith("]") or len(text) < 3:
        raise _syntax("address literal not valid")
    inner = text[1:-1]
    if "%" in inner:
        # ipaddress accepts fe80::1%eth0; a zone names our interface, not a destination.
        raise _syntax("address literal not valid")
    if ":" not in inner:
        try:
            return f"[{ipaddress.IPv4Address(inner)}]"
        except ValueError:
            raise _syntax("address literal not valid") from None
    tag, _, value = inner.partition(":")
    # RFC 5321 wants the "IPv6:" tag; an untagged IPv6 literal (nmap writes [::1]) has
    # only one meaning, so it is accepted rather than refused.
    if tag.lower() != "ipv6":
        value = inner
    try:
        ip6 = ipaddress.IPv6Address(value)
    except ValueError:
        raise _syntax("address literal not valid") from None
    if ip6.ipv4_mapped is not None:
        # [IPv6:::ffff:127.0.0.1] is the IPv4 host; one spelling per host keeps the
        # "is this one of our addresses" test a single set lookup.
        return f"[{ip6.ipv4_mapped}]"
    return f"[ipv6:{ip6.compressed}]"
