"""TSTSMTPRLY: WRKSMTPLE's F8 relay test as a command for scripts and monitoring. Its
answers are the server's: a real server (STRTCPSVR, on loopback) is asked the same
recipients over SMTP and must reply with the same codes; and the F8 display shows the
same decision."""

from __future__ import annotations

import smtplib

from tmuxterm import expect_screen

RECIPIENTS = ["someone@far.example.org", "user%elsewhere.example@far.example.org",
              "postmaster", "bogus@", "<@hub.example:x@far.example.org>"]


def replies(stdout: str) -> dict[str, str]:
    """Recipient -> the reply code TSTSMTPRLY printed for it."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("Recipient "):
            words = line.split()
            out[words[1]] = next(w for w in words[2:] if w.isdigit() or w == "-")
    return out


def test_answers_as_a_running_server_does(smtp_server):
    server = smtp_server
    server.run("addsmtple", "*NEAR HOSTNAME('.near.example')")
    recipients = RECIPIENTS + ["friend@a.near.example"]
    quoted = " ".join(f"'{r}'" for r in recipients)
    result = server.run("tstsmtprly", f"CLIENT('127.0.0.1') RCPT({quoted})", "HELO(probe.example)",
                        "SENDER(*NULL)", check=False)
    assert result.returncode in (0, 1), result.stderr
    told = replies(result.stdout)
    assert "HELO probe.example" in result.stdout and "MAIL FROM <>" in result.stdout
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
        smtp.ehlo("probe.example")
        assert smtp.mail("<>")[0] == 250
        for recipient in recipients:
            code, _ = smtp.docmd("RCPT TO:", recipient if recipient.startswith("<") else f"<{recipient}>")
            assert str(code) == told[recipient], (recipient, code, result.stdout)
    refused = sum(1 for code in told.values() if not code.startswith("2"))
    if refused:
        assert result.returncode == 1
        assert f"TCP2681 Relay test: client 127.0.0.1 refused for {refused} of {len(recipients)}" \
            in result.stderr


def test_exit_status_and_messages(cl, qroot):
    assert cl("addsmtple", "*ACCEPT INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')").returncode == 0
    assert cl("addsmtple", "*REJECT INTNETADR('10.6.6.6')").returncode == 0
    allowed = cl("tstsmtprly", "--client", "10.1.1.7", "--rcpt", "a@far.example.org")
    assert allowed.returncode == 0
    assert allowed.stdout.splitlines()[2].split()[-3:] == ["2.1.5", "Recipient", "ok"]
    assert "matches *ACCEPT entry 10.1.1.0 255.255.255.0" in allowed.stdout
    assert allowed.stdout.endswith("\n") and "TCP2680" in allowed.stdout
    denied = cl("tstsmtprly", "'10.2.2.2' a@far.example.org")
    assert denied.returncode == 1 and "550 5.7.1 Relaying denied" in denied.stdout
    assert "TCP2681 Relay test: client 10.2.2.2 refused for 1 of 1 recipients." in denied.stderr
    rejected = cl("tstsmtprly", "'10.6.6.6' a@far.example.org")
    assert rejected.returncode == 1 and "TCP2682" in rejected.stderr
    assert "not asked: the server closes the connection first" in rejected.stdout
    bad = cl("tstsmtprly", "'10.1.1.300' a@far.example.org")
    assert bad.returncode == 2 and "TCP1901 Internet address 10.1.1.300 not valid." in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = cl("tstsmtprly", "'10.1.1.7'")
    assert missing.returncode == 2 and "RCPT" in missing.stderr


def test_the_f8_display_shows_the_same_decision(term, cl):
    assert cl("addsmtple", "*ACCEPT INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')").returncode == 0
    command = cl("tstsmtprly", "'10.1.1.7' a@far.example.org").stdout.splitlines()
    terminal = term("wrksmtple")
    terminal.wait_for("F18=Bottom")
    terminal.press("F8", "Test Relay Decision")
    terminal.type("10.1.1.7")
    terminal.keys("Tab")
    terminal.type("a@far.example.org")
    lines = terminal.press("Enter", "Recipient ok")
    shown = "\n".join(lines)
    assert command[2].split()[-3:] == ["2.1.5", "Recipient", "ok"] and "250 2.1.5 Recipient ok" in shown
    expect_screen(terminal, "relaytest_command_same")


# --- the RCPT argument, read as the server's SMTP layer reads it ---------------------------

ARGUMENTS = ["<a@b.example>", "<user%x@y.example>", "<@hub.example:x@far.example>", "<bogus@>",
             "<>", "<\"quoted local\"@x.example>", "<a@[10.1.1.1]>", "<a@b.example> SIZE=10",
             "<a b@c>", "<a@b.example", "<=?utf-8?q?x?=@y.example>", "<postmaster>"]


def server_reads(arg: str):
    from qtsmtp.server.protocol import RelaySMTP    # the server job's parser (asyncio: tests only)

    class Session:
        local_part_limit = 0
    try:
        return RelaySMTP._getaddr(Session(), arg)
    except Exception as error:       # the session then replies 500 (aiosmtpd's handler)
        return error, ""


def test_the_rcpt_argument_is_read_as_the_server_reads_it():
    from qtsmtp.programs.relaytest import rcpt_argument
    for arg in ARGUMENTS:
        address, params = server_reads(arg)
        mine, refusal = rcpt_argument(arg)
        if isinstance(address, Exception):
            assert mine is None and refusal.startswith("500"), arg
        elif address is None:
            assert mine is None and refusal.startswith("553"), arg
        elif not address:
            assert mine is None and refusal.startswith("501"), arg
        elif params.strip():
            assert mine is None and refusal.startswith("555"), arg
        else:
            assert mine == address, (arg, mine, address)


def test_generated_rcpt_arguments_are_read_as_the_server_reads_them():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from qtsmtp.programs.relaytest import rcpt_argument
    text = st.text(alphabet="ab.@%!:\"<> []\\=?-_", max_size=24)

    @settings(max_examples=300, deadline=None)
    @given(text)
    def agree(local):
        arg = f"<{local}>"
        address, params = server_reads(arg)
        mine, _ = rcpt_argument(arg)
        if address and not isinstance(address, Exception) and not params.strip():
            assert mine == address
        else:
            assert mine is None
    agree()
