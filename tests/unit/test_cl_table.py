"""The CL language, as a table: command text -> the values bound, or the messages sent.

Each row is one case; add rows, not code. ``ok`` rows give the given values expected
(keyword -> value); ``err`` rows give the message IDs expected, in order.
"""

import pytest

from qtsmtp.cl.definition import load
from qtsmtp.cl.lexer import logical_lines
from qtsmtp.messages import CLError
from qtsmtp.cl.command import compile_text

OK = [
    # IBM's own examples of these commands and of CL source.
    ("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('192.168.1.0') SUBNETMASK('255.255.255.0')",
     {"TYPE": "*ACCEPT", "INTNETADR": "192.168.1.0", "SUBNETMASK": "255.255.255.0"}),
    ("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('127.0.0.1')", {"TYPE": "*ACCEPT", "INTNETADR": "127.0.0.1"}),
    ("ADDSMTPLE TYPE(*NEAR)   HOSTNAME('example.com')", {"TYPE": "*NEAR", "HOSTNAME": "example.com"}),
    ("CHGSMTPA MAILROUTER('SMTP.EXAMPLE.COM')", {"MAILROUTER": "SMTP.EXAMPLE.COM"}),
    ("CHGSMTPA ALWRLY(*LIST)", {"ALWRLY": "*LIST"}),
    # Positional forms: only TYPE / AUTOSTART are positional.
    ("ADDSMTPLE *ACCEPT INTNETADR('10.1.1.1')", {"TYPE": "*ACCEPT", "INTNETADR": "10.1.1.1"}),
    ("CHGSMTPA *YES", {"AUTOSTART": "*YES"}),
    ("CHGSMTPA *N ALWRLY(*NONE)", {"ALWRLY": "*NONE"}),
    # Element lists, *SAME elements, nested lists, lists of values.
    ("CHGSMTPA RTYMIN(5 10)", {"RTYMIN": (5, 10)}),
    ("CHGSMTPA RTYMIN(*SAME 10)", {"RTYMIN": ("*SAME", 10)}),
    ("CHGSMTPA RTYMIN(*DFT)", {"RTYMIN": (3, "*SAME")}),
    ("CHGSMTPA RTYMIN(5)", {"RTYMIN": (5, "*SAME")}),
    ("CHGSMTPA RTYMIN(*N 7)", {"RTYMIN": ("*SAME", 7)}),
    ("CHGSMTPA ALIASDMN((1 corp.example) (2 'Other.Example'))",
     {"ALIASDMN": [(1, "corp.example"), (2, "Other.Example")]}),
    ("CHGSMTPA ALIASDMN((1 a.example)(2 b.example))",
     {"ALIASDMN": [(1, "a.example"), (2, "b.example")]}),
    ("CHGSMTPA ALIASDMN(*NONE)", {"ALIASDMN": "*NONE"}),
    ("CHGSMTPA ALWAUTH(*LOCAL *RELAY)", {"ALWAUTH": ["*LOCAL", "*RELAY"]}),
    ("CHGSMTPA RBLSVR(zen.example bl.example)", {"RBLSVR": ["zen.example", "bl.example"]}),
    # Qualified names: QGPL/*ALL-style slashes are not comments.
    ("CHGSMTPA TBLSMTPOUT(QGPL/MYTBL)", {"TBLSMTPOUT": ("MYTBL", "QGPL")}),
    ("CHGSMTPA TBLSMTPOUT(MYTBL)", {"TBLSMTPOUT": ("MYTBL", "*LIBL")}),
    ("CHGSMTPA TBLSMTPOUT(*CURLIB/MYTBL)", {"TBLSMTPOUT": ("MYTBL", "*CURLIB")}),
    ("CHGSMTPA TBLSMTPOUT(*CCSID)", {"TBLSMTPOUT": "*CCSID"}),
    ("CHGSMTPA SBSD(QSYS/QSYSWRK) /* QGPL/*ALL is a name, this is a comment */",
     {"SBSD": ("QSYSWRK", "QSYS")}),
    # Quoting: '' is one apostrophe, blanks inside quotes are kept, case kept in quotes.
    ("ADDSMTPLE *FTRSUBJECT FTRDATA('It''s   here')", {"TYPE": "*FTRSUBJECT", "FTRDATA": "It's   here"}),
    ("CHGSMTPA SYSNAME('Mail.Example.COM')", {"SYSNAME": "Mail.Example.COM"}),
    ("CHGSMTPA USRIDDELIM('?')", {"USRIDDELIM": "?"}),
    ("CHGSMTPA MAILROUTER('*NONE')", {"MAILROUTER": "*NONE"}),   # quoted: a plain value
    # Case folding outside quotes; names and special values are case-insensitive.
    ("addsmtple type(*accept) intnetadr(10.1.1.1)", {"TYPE": "*ACCEPT", "INTNETADR": "10.1.1.1"}),
    ("chgsmtpa alwrly(*both) mailrouter(router.example)", {"ALWRLY": "*BOTH", "MAILROUTER": "router.example"}),
    ("CHGSMTPA MAILROUTER(router)", {"MAILROUTER": "router"}),  # CASE(*MIXED) keeps case
    ("CHGSMTPA USRIDPFX(abc)", {"USRIDPFX": "ABC"}),            # a name folds
    # Blanks inside parentheses, labels, qualified command names.
    ("LBL1: CHGSMTPA ALWRLY( *NEAR )", {"ALWRLY": "*NEAR"}),
    ("QSYS/CHGSMTPA ALWRLY(*NONE)", {"ALWRLY": "*NONE"}),
    ("CHGSMTPA PORT(2525) CCSID(*DFT)", {"PORT": 2525, "CCSID": 819}),
    ("ADDSMTPLE *ACCEPTIP6 IP6NETADR('2001:db8::') IP6PFX(32)",
     {"TYPE": "*ACCEPTIP6", "IP6NETADR": "2001:db8::", "IP6PFX": 32}),
    ("MONMSG MSGID(TCP2650 CPF0000)", {"MSGID": ["TCP2650", "CPF0000"]}),
    ("MONMSG TCP2650", {"MSGID": ["TCP2650"]}),
]

ERR = [
    ("ADDSMTPLE FOO(1) TYPE(*ACCEPT)", ["CPD0043", "CPF0001"]),
    ("ADDSMTPLE TYPE(*BOGUS)", ["CPD0084", "CPF0001"]),
    ("ADDSMTPLE INTNETADR('1.2.3.4')", ["CPD0007", "CPF0001"]),
    ("ADDSMTPLE *ACCEPT *REJECT", ["CPD0003", "CPF0001"]),
    ("ADDSMTPLE TYPE(*ACCEPT) '1.2.3.4'", ["CPD0004", "CPF0001"]),
    ("ADDSMTPLE TYPE(*ACCEPT) TYPE(*REJECT)", ["CPD0012", "CPF0001"]),
    ("ADDSMTPLE *ACCEPT TYPE(*REJECT)", ["CPD0012", "CPF0001"]),
    ("ADDSMTPLE TYPE(*ACCEPT *REJECT)", ["CPD0028", "CPF0001"]),
    ("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('1234567890123456')", ["CPD0074", "CPF0001"]),
    ("CHGSMTPA RTYMIN(100 5)", ["CPD0085", "CPF0001"]),
    ("CHGSMTPA RTYMIN(x 5)", ["CPD0086", "CPF0001"]),
    ("CHGSMTPA RTYMIN(1 2 3)", ["CPD0029", "CPF0001"]),
    ("CHGSMTPA ALIASDMN((1))", ["CPD0072", "CPF0001"]),
    ("CHGSMTPA ALWAUTH(*NONE *LOCAL)", ["CPD0083", "CPF0001"]),
    ("CHGSMTPA USRIDPFX(1ABC)", ["CPD0078", "CPF0001"]),
    ("CHGSMTPA NBRCLT(5)", ["CPD0043", "CPF0001"]),   # not a CHGSMTPA keyword on 7.1/7.3
    ("CHGSMTPA NBRSVR(5) FOO(1)", ["CPD0043", "CPD0043", "CPF0001"]),
    ("CHGSMTPA ALWRLY()", ["CPD0084", "CPF0001"]),
    ("CHGSMTPA ALWRLY(*ALL) *YES", ["CPD0004", "CPF0001"]),
    ("CHGSMTPA TBLSMTPOUT(A/B/C)", ["CPD0084", "CPF0001"]),
    ("CHGSMTPA ALWRLY(*LIST", ["CPD0013", "CPF0001"]),
    ("CHGSMTPA SYSNAME('abc", ["CPD0016", "CPF0001"]),
    ("CHGSMTPA SYSNAME(O'Brien)", ["CPD0020", "CPF0001"]),
    ("CHGSMTPA /* never closed", ["CPD0017", "CPF0001"]),
    ("CHGSMTPA ALIASDMN((((1))))", ["CPD0015", "CPF0001"]),
    ("CHGSMTPA SYSNAME('a\x01b')", ["CPD0018", "CPF0001"]),
    ("NOSUCHCMD A(1)", ["CPD0030", "CPF0001"]),
    ("MYLIB/CHGSMTPA ALWRLY(*LIST)", ["CPD0030", "CPF0001"]),
    ("(CHGSMTPA)", ["CPD0031"]),   # no command name, so no command for CPF0001 to name
    ("CHGSMTPA " + "A" * 32702, ["CPD0040", "CPF0001"]),
]


def _compile(text):
    return compile_text(text)


@pytest.mark.parametrize("text,expected", OK, ids=[t for t, _ in OK])
def test_binds(text, expected):
    bound = _compile(text)
    assert {k: bound[k] for k in bound.given} == expected


@pytest.mark.parametrize("text,expected", ERR, ids=[t[:60] for t, _ in ERR])
def test_refuses(text, expected):
    with pytest.raises(CLError) as info:
        _compile(text)
    assert [m.id for m in info.value.messages] == expected


def test_defaults_are_bound_for_parameters_not_given():
    bound = _compile("ADDSMTPLE *ACCEPT INTNETADR('10.0.0.1')")
    assert bound["SUBNETMASK"] == "255.255.255.255"
    assert bound["IP6PFX"] == 128
    assert bound["HOSTNAME"] is None
    every = _compile("CHGSMTPA")
    assert set(every.values.values()) == {"*SAME"}


def test_continuation_plus_drops_leading_blanks_and_minus_keeps_them():
    source = "CHGSMTPA SYSNAME('CONT+\n       INUED')\nCHGSMTPA SYSNAME('CONT-\n  INUED')\n"
    lines = list(logical_lines(source))
    assert lines == [(1, "CHGSMTPA SYSNAME('CONTINUED')"), (3, "CHGSMTPA SYSNAME('CONT  INUED')")]


def test_continuation_between_parameters_keeps_the_blank_before_the_sign():
    lines = list(logical_lines("ADDSMTPLE TYPE(*ACCEPT) +\n    INTNETADR('10.1.1.1')"))
    bound = _compile(lines[0][1])
    assert bound["INTNETADR"] == "10.1.1.1"


def test_messages_carry_their_substitution_text():
    with pytest.raises(CLError) as info:
        _compile("ADDSMTPLE FOO(1) TYPE(*ACCEPT)")
    assert [str(m) for m in info.value.messages] == [
        "CPD0043 Keyword FOO not valid for this command.",
        "CPF0001 Error found on ADDSMTPLE command.",
    ]


def test_hidden_values_are_not_echoed_in_messages():
    text = "ADDSMTPLE *HOSTAUTH HOSTNAME(h.example) USERNAME(u) PASSWORD('" + "s" * 300 + "')"
    with pytest.raises(CLError) as info:
        _compile(text)
    assert "sss" not in str(info.value)


def test_every_definition_compiles_and_every_parameter_has_a_prompt():
    from qtsmtp.cl.definition import command_names
    for name in command_names():
        cmd = load(name)
        assert cmd.prompt, name
        for parm in cmd.parms:
            assert parm.prompt, f"{name} {parm.keyword}"
