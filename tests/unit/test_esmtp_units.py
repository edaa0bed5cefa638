"""The ESMTP pieces without a socket: the EHLO edit, RFC 3463 codes added to replies
that lack them, RFC 3848 with-protocol values, and failure reasons that are never empty."""

from __future__ import annotations

import asyncio

from qtsmtp.delivery.smtpclient import describe
from qtsmtp.server import esmtp
from qtsmtp.server.protocol import with_enhanced_code

AIOSMTPD_EHLO = [b"250-sys.test", b"250-SIZE 33554432", b"250-8BITMIME", b"250-SMTPUTF8",
                 b"250-STARTTLS"]


def test_enhanced_code_is_added_only_where_missing():
    assert with_enhanced_code(b"503 Error: need RCPT command") == b"503 5.5.1 Error: need RCPT command"
    assert with_enhanced_code(b"250 OK") == b"250 2.0.0 OK"
    assert with_enhanced_code(b"550 5.7.1 Relaying denied") == b"550 5.7.1 Relaying denied"
    assert with_enhanced_code(b"250-2.0.0 more") == b"250-2.0.0 more"
    assert with_enhanced_code(b"354 End data with <CR><LF>.<CR><LF>") == b"354 End data with <CR><LF>.<CR><LF>"
    assert with_enhanced_code(b"334 VXNlcm5hbWU6") == b"334 VXNlcm5hbWU6"
    assert with_enhanced_code(b"599 odd") == b"599 5.0.0 odd"
    assert with_enhanced_code(b"221") == b"221"


def test_ehlo_lines_follow_the_offer():
    full = esmtp.ehlo_lines(AIOSMTPD_EHLO, esmtp.Offer.from_attributes({}))
    assert b"250-PIPELINING" in full and b"250-ENHANCEDSTATUSCODES" in full
    assert b"250-8BITMIME" in full and b"250-SMTPUTF8" in full
    none = esmtp.Offer.from_attributes({"ESMTPEXT": "*NONE", "MIME8BIT": "*NO"})
    lines = esmtp.ehlo_lines(AIOSMTPD_EHLO, none)
    assert lines == [b"250-sys.test", b"250-SIZE 33554432", b"250-STARTTLS"]
    # SMTPUTF8 needs 8BITMIME (RFC 6531 3.1), whatever ESMTPEXT says.
    assert not esmtp.Offer.from_attributes({"ESMTPEXT": ["*SMTPUTF8"], "MIME8BIT": "*NO"}).smtputf8


def test_with_protocol_values():
    assert esmtp.with_protocol(False, False, False, False) == "SMTP"
    assert esmtp.with_protocol(True, False, False, False) == "ESMTP"
    assert esmtp.with_protocol(True, True, False, False) == "ESMTPS"
    assert esmtp.with_protocol(True, False, True, False) == "ESMTPA"
    assert esmtp.with_protocol(True, True, True, False) == "ESMTPSA"
    assert esmtp.with_protocol(True, True, True, True) == "UTF8SMTPSA"


def test_reasons_are_never_empty():
    assert describe(TimeoutError()) == "timed out"
    assert describe(asyncio.IncompleteReadError(b"", 10)).startswith("IncompleteReadError: ")
    assert describe(ConnectionResetError(104, "Connection reset by peer")) == \
        "ConnectionResetError: Connection reset by peer"
    assert describe(OSError()) == "OSError"
