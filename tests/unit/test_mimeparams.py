"""config.mimeparams: the email package's MIME parameter splitter, in linear time, gives
the package's own answers; it is in place wherever qtsmtp parses what a client sent; and
a report returning a whole message (RET=FULL) carries it byte for byte, unparsed."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp.config import mimeparams
from qtsmtp.delivery import dsn

# The characters _parseparam reads (semicolons, quotes, backslashes, the equals sign,
# folding white space) and a few it does not.
_VALUES = st.text(alphabet=';"\\= \t\r\naZ*%\'', max_size=60)


@settings(max_examples=3000, deadline=None)
@given(_VALUES)
def test_same_parameters_as_the_email_package(value):
    assert mimeparams.parseparam(value) == mimeparams.STDLIB_PARSEPARAM(value)


def test_same_parameters_on_the_hostile_shapes():
    for value in ('text/plain; name="' + '\\";' * 3000 + '"',      # ; inside quotes
                  "text/plain" + "; a" * 3000,                        # ; stuffing
                  'a; b="c;d"; e="f\\";g"; h=i;; ;j',
                  '"' * 500 + ";" * 500, ""):
        assert mimeparams.parseparam(value) == mimeparams.STDLIB_PARSEPARAM(value), value[:40]


@pytest.mark.parametrize("module", ["qtsmtp.config.headerblock",    # the mail filters
                                    "qtsmtp.delivery.downgrade"])    # the 8-bit downgrade
def test_in_place_where_a_client_s_message_is_parsed(module):
    # Each in a process of its own: importing it is what puts the splitter in place.
    check = (f"import email.message, {module}; from qtsmtp.config import mimeparams; "
             "assert email.message._parseparam is mimeparams.parseparam")
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)


def test_a_file_name_after_a_hostile_run_is_still_read():
    # The filters must still see "x.exe" at the end of a name padded to hide it.
    from qtsmtp.config.headerblock import file_name, parse
    value = 'text/plain; name="' + '\\";' * 20000 + 'x.exe"'
    assert file_name(parse(b"Content-Type: " + value.encode() + b"\r\n\r\n")).endswith("x.exe")


def test_a_full_report_returns_the_message_byte_for_byte():
    # A header field the email package would write back otherwise (its parameter as
    # RFC 2231 pieces), an 8-bit body, a line that begins with a dot.
    original = (b"Received: from client.test\r\nSubject: whole\r\nMIME-Version: 1.0\r\n"
                b'Content-Type: text/plain; name="' + b'a\\";' * 40 + b'b"\r\n'
                b"\r\nthe body \xc3\xa9\r\n.. dot\r\n")
    notices = [dsn.Notice(recipient="r@far.test", status="5.1.1", diagnostic="550 5.1.1 no")]
    report = dsn.build("sys.test", {"sender": "s@client.test", "id": "Q1"}, original, notices,
                       full=True)
    assert original in report
    parsed = email.message_from_bytes(report, policy=email.policy.default)
    returned = parsed.get_payload()[2]
    assert returned.get_content_type() == "message/rfc822"
    assert returned["Content-Transfer-Encoding"] == "8bit"
    assert returned.get_payload()[0]["Subject"] == "whole"
    assert parsed.get_boundary().encode() not in original


def test_the_report_s_boundary_is_never_one_the_message_holds(monkeypatch):
    tokens = iter(["feed" * 8, "beef" * 8])
    monkeypatch.setattr(dsn.secrets, "token_hex", lambda n: next(tokens))
    original = b"Subject: trap\r\n\r\n--=_qtsmtp_" + b"feed" * 8 + b"\r\n"
    notices = [dsn.Notice(recipient="r@far.test", status="5.1.1", diagnostic="550 5.1.1 no")]
    report = dsn.build("sys.test", {"sender": "s@client.test"}, original, notices, full=True)
    parsed = email.message_from_bytes(report, policy=email.policy.default)
    assert parsed.get_boundary() == "=_qtsmtp_" + "beef" * 8
    assert len(parsed.get_payload()) == 3 and original in report
