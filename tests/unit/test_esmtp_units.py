"""The ESMTP pieces without a socket: the EHLO edit, RFC 3463 codes added to replies
that lack them, RFC 3848 with-protocol values, and failure reasons that are never empty."""

from __future__ import annotations

import asyncio

import pytest

from qtsmtp.delivery.smtpclient import describe
from qtsmtp.queue import dsnfields
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
    assert b"250-8BITMIME" in full and b"250-SMTPUTF8" in full and b"250-DSN" in full
    none = esmtp.Offer.from_attributes({"ESMTPEXT": "*NONE", "MIME8BIT": "*NO",
                                        "NFYDLVRY": ["*NONE", "*NO"]})
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


def test_dsn_parameters_parse_as_rfc_3461_says():
    kept, taken = esmtp.take_dsn_parameters("SIZE=10 RET=hdrs ENVID=a+2Bb", esmtp.MAIL_DSN)
    assert kept == ["SIZE=10"] and taken == {"RET": "HDRS", "ENVID": "a+b"}
    kept, taken = esmtp.take_dsn_parameters("NOTIFY=success,delay ORCPT=rfc822;A+2BB@C", esmtp.RCPT_DSN)
    assert taken == {"NOTIFY": ["SUCCESS", "DELAY"], "ORCPT": "rfc822;A+B@C"}
    for bad in ("NOTIFY=NEVER,DELAY", "NOTIFY=", "NOTIFY", "ORCPT=rfc822", "ORCPT=;a@b",
                "ORCPT=rfc822;a+2b@c", "NOTIFY=DELAY NOTIFY=DELAY"):
        with pytest.raises(esmtp.BadParameter):
            esmtp.take_dsn_parameters(bad, esmtp.RCPT_DSN)
    assert dsnfields.xtext_encode("a+b=c d\u00e9") == "a+2Bb+3Dc+20d+C3+A9"
    assert dsnfields.xtext_decode(dsnfields.xtext_encode("a+b=c d")) == "a+b=c d"


def test_8bit_bodies_become_quoted_printable_for_a_hop_without_8bitmime():
    from email import message_from_bytes
    from email.policy import default

    from qtsmtp.delivery.downgrade import seven_bit
    original = ("From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                "boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\nna\u00efve\r\n.dot\r\n--XX\r\n"
                "Content-Type: text/plain\r\n\r\nascii\r\n--XX--\r\n").encode()
    converted = seven_bit(original)
    assert converted.isascii() and b"quoted-printable" in converted
    # Read as a Maildir reader would: local line ends.
    first, second = message_from_bytes(converted.replace(b"\r\n", b"\n"), policy=default).iter_parts()
    assert first.get_content() == "na\u00efve\n.dot" and second.get_content() == "ascii"
    assert seven_bit("Subject: caf\u00e9\r\n\r\nx\r\n".encode()) is None    # an 8-bit header
