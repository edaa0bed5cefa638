"""Which ESMTP extensions a session is offered, and what each one asks of the server.

The EHLO reply is aiosmtpd's, edited here (``ehlo_lines``), so that every keyword in it
is one the server honours, each under the CHGSMTPA control an operator looks for:

    8BITMIME             MIME8BIT(*YES)          (RFC 6152)
    PIPELINING           ESMTPEXT(*PIPELINING)   (RFC 2920)
    ENHANCEDSTATUSCODES  ESMTPEXT(*ENHSTSCODE)   (RFC 2034; protocol.with_enhanced_code)
    SMTPUTF8             ESMTPEXT(*SMTPUTF8), and only with 8BITMIME (RFC 6531 3.1)
    DSN                  NFYDLVRY, its "notify the sender" element *YES   (RFC 3461)

qtsmtp-server(8), section ESMTP, says what each does and why CHUNKING is not offered.
Nothing here touches a socket: the protocol asks, this module answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from qtsmtp.queue import dsnfields
from qtsmtp.queue.dsnfields import BadParameter

__all__ = ["BadParameter", "Offer", "ehlo_lines", "take_dsn_parameters", "with_protocol"]

ALL = "*ALL"
PIPELINING, ENHANCED, SMTPUTF8 = "*PIPELINING", "*ENHSTSCODE", "*SMTPUTF8"


@dataclass(frozen=True)
class Offer:
    """The extensions one session is offered (read from the attributes it started with)."""
    eight_bit: bool = True
    pipelining: bool = True
    enhanced_codes: bool = True
    smtputf8: bool = True
    dsn: bool = True

    @classmethod
    def from_attributes(cls, values: dict) -> Offer:
        chosen = values.get("ESMTPEXT", ALL)
        chosen = [chosen] if isinstance(chosen, str) else list(chosen)

        def wanted(name: str) -> bool:
            return ALL in chosen or name in chosen

        eight_bit = str(values.get("MIME8BIT", "*YES")).upper() != "*NO"
        return cls(eight_bit=eight_bit, pipelining=wanted(PIPELINING),
                   enhanced_codes=wanted(ENHANCED),
                   smtputf8=eight_bit and wanted(SMTPUTF8),
                   dsn=notifies_sender(values))


def notifies_sender(values: dict) -> bool:
    """NFYDLVRY's second element: are senders sent delivery status notifications?"""
    setting = values.get("NFYDLVRY")
    if isinstance(setting, list) and len(setting) > 1:
        return str(setting[1]).upper() != "*NO"
    return True


def ehlo_lines(lines: list[bytes], offer: Offer) -> list[bytes]:
    """aiosmtpd's "250-" lines of an EHLO reply (all but the last), edited to ``offer``."""
    out = []
    for line in lines:
        keyword = line[4:].split(b" ", 1)[0].upper()
        if keyword == b"8BITMIME" and not offer.eight_bit:
            continue
        if keyword == b"SMTPUTF8" and not offer.smtputf8:
            continue
        out.append(line)
    extra = [(offer.pipelining, b"250-PIPELINING"), (offer.enhanced_codes, b"250-ENHANCEDSTATUSCODES"),
             (offer.dsn, b"250-DSN")]
    return out + [line for wanted, line in extra if wanted]


def with_protocol(extended: bool, tls: bool, authenticated: bool, utf8: bool) -> str:
    """The Received: line's "with" value: RFC 3848 (ESMTPS, ESMTPA, ESMTPSA) and RFC 6531
    section 3.7.3 (UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA)."""
    if not extended:
        return "SMTP"
    base = "UTF8SMTP" if utf8 else "ESMTP"
    return base + ("S" if tls else "") + ("A" if authenticated else "")


def mail_refusal(offer: Offer, mail_options: list[str], sender: str, utf8: bool) -> str | None:
    """The reply to MAIL parameters of an extension this session was not offered, or to
    an internationalised sender without SMTPUTF8 (RFC 6531 3.4)."""
    if not offer.eight_bit and "BODY=8BITMIME" in mail_options:
        return "555 5.5.4 BODY=8BITMIME not offered here (MIME8BIT(*NO))"
    if utf8 and not offer.smtputf8:
        return "555 5.5.4 SMTPUTF8 not offered here"
    if not utf8 and not sender.isascii():
        return "553 5.6.7 A non-ASCII address needs MAIL FROM's SMTPUTF8 parameter"
    return None


def rcpt_refusal(recipient: str, utf8: bool) -> str | None:
    if not utf8 and not recipient.isascii():
        return "553 5.6.7 A non-ASCII address needs MAIL FROM's SMTPUTF8 parameter"
    return None


MAIL_DSN = {"RET": dsnfields.parse_ret, "ENVID": dsnfields.parse_envid}
RCPT_DSN = {"NOTIFY": dsnfields.parse_notify, "ORCPT": dsnfields.parse_orcpt}


def take_dsn_parameters(parameters: str, parsers: dict) -> tuple[list[str], dict]:
    """(the other parameters, {NAME: parsed value}) of a MAIL or RCPT parameter text;
    BadParameter for a DSN parameter that is not valid or is given twice."""
    kept, taken = [], {}
    for word in parameters.split():
        name, equals, value = word.partition("=")
        name = name.upper()
        if name not in parsers:
            kept.append(word)
            continue
        if name in taken:
            raise BadParameter(f"{name} given twice")
        if not equals or not value:
            raise BadParameter(f"{name} needs a value")
        taken[name] = parsers[name](value)
    return kept, taken


def queue_fields(envelope) -> dict:
    """What the queue file's envelope keeps of the ESMTP transaction (qtsmtp-queue(5))."""
    fields = {}
    if envelope.smtp_utf8:
        fields["smtputf8"] = True
    if getattr(envelope, "dsn_ret", None):
        fields["ret"] = envelope.dsn_ret
    if getattr(envelope, "dsn_envid", None):
        fields["envid"] = envelope.dsn_envid
    if getattr(envelope, "dsn", None):
        fields["dsn"] = envelope.dsn
    return fields


def content_refusal(offer: Offer, eight_bit: bool) -> str | None:
    """Without 8BITMIME a client may send 7-bit data only (RFC 6152 section 3, RFC 5321
    section 2.4): 8-bit bytes are refused rather than passed on or cut to 7 bits.
    ``eight_bit``: the message holds a byte above 127 (dataread.DataOutcome)."""
    if not offer.eight_bit and eight_bit:
        return "554 5.6.1 8-bit data not accepted here (MIME8BIT(*NO)); send it encoded"
    return None
