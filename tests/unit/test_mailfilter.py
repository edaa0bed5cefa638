"""The mail filters on real MIME messages: config.mimescan and config.mailfilter.

Messages are built with the email package (as a mail client makes them) or written out
byte for byte where a client's encoding is the point (RFC 2231 continuations, RFC 2047
names). Each is scanned as it would arrive: in one piece, and a few bytes at a time.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from qtsmtp.config import mimescan
from qtsmtp.config.mailfilter import (
    FILENAME,
    ORIGIN,
    SUBJECT,
    TYPE,
    FilterRules,
    Pattern,
    file_name,
)
from qtsmtp.config.mimescan import MimeScanner


def scan(data: bytes, chunk: int | None = None, headers_only: bool = False):
    scanner = MimeScanner(headers_only=headers_only)
    if chunk is None:
        scanner.feed(data)
    else:
        for at in range(0, len(data), chunk):
            scanner.feed(data[at:at + chunk])
    return scanner.close()


def crlf(message: EmailMessage) -> bytes:
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def with_attachment(name: str, maintype="application", subtype="octet-stream",
                    subject="Invoice") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Joe <joe@sender.test>"
    message["To"] = "ann@dest.test"
    message["Subject"] = subject
    message.set_content("See the attachment.\n")
    message.add_attachment(b"MZ\x90\x00" * 200, maintype=maintype, subtype=subtype,
                           filename=name)
    return message


def rules(**lists) -> FilterRules:
    names = {"subject": SUBJECT, "origin": ORIGIN, "filename": FILENAME, "type": TYPE}
    return FilterRules({names[k]: v for k, v in lists.items()})


@pytest.mark.parametrize("chunk", [None, 1, 7, 4096])
def test_nested_multipart_attachment_is_found_however_it_arrives(chunk):
    inner = with_attachment("payload.exe")
    outer = EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = "a@b.test", "c@d.test", "Nested"
    outer.set_content("text")
    outer.add_alternative("<p>html</p>", subtype="html")
    outer.make_mixed()
    outer.attach(inner)            # a multipart/mixed inside a multipart/mixed
    facts = scan(crlf(outer), chunk)
    names = [p.filename for p in facts.parts if p.filename]
    assert names == ["payload.exe"]
    assert rules(filename=["*.exe"]).match(facts, "").value == "payload.exe"
    assert max(p.depth for p in facts.parts) >= 2


def test_rfc2231_continued_and_encoded_file_name():
    data = (b"From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
            b"--XX\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment;\r\n"
            b" filename*0*=utf-8''r%C3%A9sum%C3%A9;\r\n"
            b" filename*1=\".sc\";\r\n filename*2=\"r\"\r\n\r\nAAAA\r\n--XX--\r\n")
    facts = scan(data, 3)
    assert [p.filename for p in facts.parts if p.filename] == ["r\u00e9sum\u00e9.scr"]
    found = rules(filename=["*.SCR"]).match(facts, "")
    assert found is not None and found.list_type == FILENAME and found.pattern == "*.SCR"


def test_rfc2047_encoded_file_name_in_content_type_name():
    # "bericht.exe" in base64, only in Content-Type's name= (as old clients write it).
    data = (b"From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b1\r\n\r\npreamble\r\n"
            b"--b1\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
            b"--b1\r\nContent-Type: application/x-msdownload;\r\n"
            b" name=\"=?utf-8?B?YmVyaWNodC5leGU=?=\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nTVqQAA==\r\n--b1--\r\nepilogue\r\n")
    facts = scan(data)
    assert rules(filename=["*.exe"]).match(facts, "").value == "bericht.exe"
    assert rules(type=["application/x-ms*"]).match(facts, "").list_type == TYPE


@pytest.mark.parametrize("name", ["PAYLOAD.EXE", "payload.Exe", "payload.exe.",
                                  "payload.exe  ", "C:\\Temp\\payload.exe",
                                  "../../payload.exe", "invoice.pdf.exe"])
def test_names_written_to_dodge_a_naive_match_are_still_matched(name):
    facts = scan(crlf(with_attachment(name)))
    found = rules(filename=["*.exe"]).match(facts, "")
    assert found is not None, name
    assert file_name(found.value).lower().endswith(".exe")


def test_text_that_only_mentions_a_file_name_is_not_an_attachment():
    # A naive search of the text would find "filename=evil.exe" and name= here.
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@b.test", "c@d.test", "help"
    message.set_content('Content-Disposition: attachment; filename="evil.exe"\n'
                        'name=evil.exe; see evil.exe\n')
    facts = scan(crlf(message))
    assert rules(filename=["*.exe"]).match(facts, "") is None
    assert rules(filename=["evil.exe"]).match(facts, "") is None


def test_attachment_inside_a_forwarded_message_is_found():
    forwarded = with_attachment("inner.vbs", "text", "vbscript")
    outer = EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = "a@b.test", "c@d.test", "Fwd"
    outer.set_content("fyi")
    outer.add_attachment(forwarded)          # message/rfc822
    facts = scan(crlf(outer), 5)
    assert "message/rfc822" in [p.content_type for p in facts.parts]
    assert rules(filename=["*.vbs"]).match(facts, "").value == "inner.vbs"
    assert rules(type=["text/vbscript"]).match(facts, "") is not None


def test_subject_is_decoded_and_matched_whole_without_case():
    data = (b"From: a@b.test\r\nSubject: =?utf-8?q?I_love_you?=\r\n"
            b" =?utf-8?q?_again?=\r\n\r\nbody\r\n")
    facts = scan(data, headers_only=True)
    assert facts.subject == "I love you again"
    assert rules(subject=["i love YOU*"]).match(facts, "").list_type == SUBJECT
    assert rules(subject=["i love you"]).match(facts, "") is None    # whole value
    assert rules(subject=["*love*"]).match(facts, "") is not None


def test_star_is_one_or_more_characters_as_ibm_documents():
    assert Pattern("*.vbs").matches("a.vbs")
    assert not Pattern("*.vbs").matches(".vbs")
    assert Pattern("image/*").matches("image/jpeg")
    assert not Pattern("image/*").matches("image/")
    assert Pattern("a.b").matches("a.b") and not Pattern("a.b").matches("axb")   # . is literal


def test_originator_from_envelope_and_from_header_and_domain_patterns():
    facts = scan(b"From: \"Boss\" <CEO@Evil.Example>\r\nSubject: pay\r\n\r\nx\r\n")
    assert facts.from_addresses == ["CEO@Evil.Example"]
    assert rules(origin=["*@evil.example"]).match(facts, "ok@fine.test").value == "CEO@Evil.Example"
    assert rules(origin=["fine.test"]).match(facts, "ok@FINE.test").value == "ok@FINE.test"
    assert rules(origin=["*.test"]).match(facts, "") is None
    assert rules(origin=["joe@fine.test"]).match(facts, "ok@fine.test") is None


def test_type_pattern_without_slash_is_a_main_type():
    facts = scan(crlf(with_attachment("p.png", "image", "png")))
    assert rules(type=["image"]).match(facts, "").value == "image/png"
    assert rules(type=["IMAGE/*"]).match(facts, "") is not None
    assert rules(type=["audio/*"]).match(facts, "") is None


def test_memory_stays_bounded_on_huge_lines_and_bodies():
    scanner = MimeScanner()
    scanner.feed(b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n"
                 b"Content-Type: application/octet-stream; name=big.bin\r\n\r\n")
    for _ in range(200):                       # 20 MB in one line with no newline
        scanner.feed(b"A" * 100_000)
        assert len(scanner._partial) <= mimescan.MAX_LINE_KEPT
    scanner.feed(b"\r\n--q\r\nContent-Type: application/zip; name=z.zip\r\n\r\nPK\r\n--q--\r\n")
    facts = scanner.close()
    assert [p.filename for p in facts.parts] == ["", "big.bin", "z.zip"]


def test_header_block_is_bounded():
    scanner = MimeScanner()
    scanner.feed(b"From: a@b.test\r\n")
    for _ in range(100):
        scanner.feed(b"X-Junk: " + b"j" * 10_000 + b"\r\n")
    assert len(scanner._block) <= mimescan.MAX_HEADER_BYTES
    scanner.feed(b"Subject: late\r\n\r\nbody\r\n")
    assert scanner.close().from_addresses == ["a@b.test"]


def test_deep_nesting_and_garbage_do_not_raise():
    depth = 300
    data = b"From: a@b.test\r\n"
    for level in range(depth):
        data += b"Content-Type: multipart/mixed; boundary=\"L%d\"\r\n\r\n--L%d\r\n" % (level, level)
    data += b"Content-Type: application/octet-stream; name=\"deep.exe\"\r\n\r\nx\r\n"
    facts = scan(data)
    assert len(facts.parts) == depth + 1
    assert rules(filename=["*.exe"]).match(facts, "").value == "deep.exe"
    for junk in (b"", b"\r\n", b"\x00\xff" * 50, b"Content-Type: multipart/mixed\r\n\r\n--\r\n--",
                 b"Content-Type: message/rfc822\r\n\r\n\r\n\r\n",
                 b"Content-Disposition: attachment; filename*0*=bogus''%ZZ\r\n\r\n"):
        scan(junk, 2)


def test_no_rules_is_false_and_headers_only_when_no_part_rules():
    assert not rules()
    assert rules(subject=["x"]).scanner()._headers_only
    assert not rules(filename=["x"]).scanner()._headers_only
    assert rules(subject=["a", "b"], type=["c"]).count() == 3
