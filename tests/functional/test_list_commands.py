"""ADDSMTPLE / RMVSMTPLE as a user runs them: console scripts in subprocesses."""

import os
import stat
import subprocess
from contextlib import contextmanager

import pytest

from support import member


def lst(root, name):
    return member(root, "QATMADRLST", name).splitlines()


def test_cl_form_in_one_argument_and_in_separate_words(cl, qroot):
    r = cl("addsmtple", "TYPE(*ACCEPT) INTNETADR('10.1.1.1')")
    assert (r.returncode, r.stdout, r.stderr) == (0, "TCP2660 SMTP list entry added.\n", "")
    r = cl("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('10.1.2.0')", "SUBNETMASK('255.255.255.0')")
    assert r.returncode == 0, r.stderr
    assert lst(qroot, "ACCEPTRLY") == ["10.1.1.1 255.255.255.255", "10.1.2.0 255.255.255.0"]


def test_option_form_is_the_same_command(cl, qroot):
    r = cl("addsmtple", "--type", "accept", "--intnetadr", "192.168.1.0", "--subnetmask=255.255.255.0")
    assert r.returncode == 0, r.stderr
    r = cl("rmvsmtple", "--type", "*ACCEPT", "--intnetadr", "192.168.1.0", "--subnetmask", "255.255.255.0")
    assert (r.returncode, r.stdout) == (0, "TCP2661 SMTP list entry removed.\n")
    assert lst(qroot, "ACCEPTRLY") == []


def test_umbrella_runs_any_command_line(cl, qroot):
    r = cl("qtsmtp", "ADDSMTPLE *REJECT INTNETADR('10.9.9.9')")
    assert r.returncode == 0, r.stderr
    r = cl("qtsmtp", "addsmtple", "--type", "reject", "--intnetadr", "10.9.9.8")
    assert r.returncode == 0, r.stderr
    assert lst(qroot, "REJECTCNN") == ["10.9.9.9 255.255.255.255", "10.9.9.8 255.255.255.255"]


@pytest.mark.parametrize("args,msgid", [
    (["*ACCEPT INTNETADR('10.1.1.300')"], "TCP1901"),
    (["*ACCEPT INTNETADR('10.1.1.0') SUBNETMASK('255.0.255.0')"], "TCP1902"),
    (["*ACCEPT INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.1')"], "TCP1902"),
    (["*ACCEPT INTNETADR('2001:db8::1')"], "TCP1906"),
    (["*ACCEPTIP6 IP6NETADR('10.1.1.1')"], "TCP1907"),
    (["*ACCEPTIP6 IP6NETADR('2001:db8::') IP6PFX(129)"], "CPD0085"),
    (["*ACCEPT HOSTNAME(mail.example.com)"], "TCP2652"),
    (["*ACCEPT"], "TCP2653"),
    (["*NEAR HOSTNAME('bad..example')"], "TCP1905"),
    (["*NEAR HOSTNAME(x.example) INTNETADR('10.1.1.1')"], "TCP2652"),
    (["*DOMAIN INTNETADR('10.1.1.1')"], "TCP2653"),
    (["TYPE(*ACCEPT) FOO(1)"], "CPD0043"),
    (["--type", "accept", "--foo", "1"], "CPD0043"),
    (["--type"], "QTS0010"),
    (["--install-completion=bash"], "QTS0013"),
    (["--show-completion=bash"], "QTS0013"),
    (["--type", "accept", "INTNETADR('1.2.3.4')"], "QTS0011"),
])
def test_bad_input_gets_a_message_and_changes_nothing(cl, qroot, args, msgid):
    cl("addsmtple", "*ACCEPT INTNETADR('10.0.0.1')")
    before = {p.name: p.read_bytes() for p in (qroot / "QUSRSYS" / "QATMADRLST").iterdir()}
    r = cl("addsmtple", *args)
    assert r.returncode in (1, 2)
    assert msgid in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    for line in r.stderr.splitlines():
        assert line.startswith("  ") or line[:3] in ("CPD", "CPF", "TCP", "QTS"), line
    after = {p.name: p.read_bytes() for p in (qroot / "QUSRSYS" / "QATMADRLST").iterdir()}
    assert after == before


def test_duplicate_is_refused_whatever_host_bits_it_carries(cl, qroot):
    assert cl("addsmtple", "*ACCEPT INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')").returncode == 0
    r = cl("addsmtple", "*ACCEPT INTNETADR('10.1.1.77') SUBNETMASK('255.255.255.0')")
    assert r.returncode == 1 and r.stderr.startswith("TCP2650 ")
    assert lst(qroot, "ACCEPTRLY") == ["10.1.1.0 255.255.255.0"]


def test_remove_by_network_keeps_other_lines_and_hand_comments(cl, qroot):
    path = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    path.write_text("# office\n10.1.1.0 255.255.255.0\n\n10.2.0.0   255.255.0.0\n")
    r = cl("rmvsmtple", "*ACCEPT INTNETADR('10.2.3.4') SUBNETMASK('255.255.0.0')")
    assert r.returncode == 0, r.stderr
    assert path.read_text() == "# office\n10.1.1.0 255.255.255.0\n\n"
    r = cl("rmvsmtple", "*ACCEPT INTNETADR('10.2.3.4') SUBNETMASK('255.255.0.0')")
    assert r.returncode == 1 and r.stderr.startswith("TCP2651 ")


def test_hand_edit_without_final_newline_is_not_joined(cl, qroot):
    path = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    path.write_text("10.1.1.1 255.255.255.255")
    assert cl("addsmtple", "*ACCEPT INTNETADR('10.1.1.2')").returncode == 0
    assert path.read_text() == "10.1.1.1 255.255.255.255\n10.1.1.2 255.255.255.255\n"


def test_member_that_does_not_parse_is_named_with_its_record(cl, qroot):
    path = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    path.write_text("10.1.1.1 255.255.255.255\n10.1.1.999\n")
    r = cl("addsmtple", "*ACCEPT INTNETADR('10.1.1.2')")
    assert r.returncode == 0          # the bad record is named and passed over
    assert r.stderr.startswith("TCP2671 Member ACCEPTRLY file QATMADRLST in library QUSRSYS "
                               "not valid at record 2")
    assert path.read_text() == "10.1.1.1 255.255.255.255\n10.1.1.999\n10.1.1.2 255.255.255.255\n"


def test_every_list_type_round_trips(cl, qroot):
    cases = [
        ("*ACCEPT INTNETADR('10.1.0.0') SUBNETMASK('255.255.0.0')", "ACCEPTRLY"),
        ("*REJECT INTNETADR('10.66.0.1')", "REJECTCNN"),
        ("*NEAR HOSTNAME('.Example.COM.')", "NEAR"),
        ("*NEAR INTNETADR('192.168.5.0') SUBNETMASK('255.255.255.0')", "NEAR"),
        ("*DOMAIN HOSTNAME(corp.example) INTNETADR('10.0.0.25')", "DOMAIN"),
        ("*SVRBIND INTNETADR('127.0.0.2')", "SVRBIND"),
        ("*CLTBIND INTNETADR('127.0.0.3')", "CLTBIND"),
        ("*ETRNSVR HOSTNAME(mx.example)", "ETRNSVR"),
        ("*FTRSUBJECT FTRDATA('Buy now!')", "FTRSUBJECT"),
        ("*FTRORIGIN FTRDATA('spam@example.com')", "FTRORIGIN"),
        ("*FTRFILNAME FTRDATA('*.exe')", "FTRFILNAME"),
        ("*FTRTYPE FTRDATA('application/x-msdownload')", "FTRTYPE"),
        ("*ACCEPTIP6 IP6NETADR('2001:DB8::') IP6PFX(32)", "ACCEPTIP6"),
        ("*REJECTIP6 IP6NETADR('2001:db8:bad::1')", "REJECTIP6"),
        ("*DOMAINIP6 HOSTNAME(v6.example) IP6NETADR('2001:db8::25')", "DOMAINIP6"),
        ("*SVRBNDIP6 IP6NETADR('::2')", "SVRBNDIP6"),
        ("*CLTBNDIP6 IP6NETADR('::3')", "CLTBNDIP6"),
    ]
    for text, name in cases:
        r = cl("addsmtple", text)
        assert r.returncode == 0, (text, r.stderr)
        assert cl("addsmtple", text).returncode == 1, f"duplicate of {text} accepted"
        before = lst(qroot, name)
        r = cl("rmvsmtple", text)
        assert r.returncode == 0, (text, r.stderr)
        assert len(lst(qroot, name)) == len(before) - 1, text
    assert lst(qroot, "NEAR") == []


def test_credentials_member_is_for_its_owner_only(cl, qroot):
    old = os.umask(0)
    try:
        r = cl("addsmtple", "*HOSTAUTH HOSTNAME(mx.example) USERNAME(joe) PASSWORD('Se cret')")
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    path = qroot / "QUSRSYS" / "QATMADRLST" / "HOSTAUTH"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "mx.example\tjoe\tSe cret\n"
    r = cl("rmvsmtple", "*HOSTAUTH HOSTNAME(mx.example) USERNAME(joe)")
    assert r.returncode == 2 and "CPD0043" in r.stderr     # RMVSMTPLE has no USERNAME
    assert cl("rmvsmtple", "*HOSTAUTH HOSTNAME(MX.example)").returncode == 0


def test_help_is_generated_from_the_definition(cl):
    r = cl("addsmtple", "--help")
    assert r.returncode == 0
    assert "ADDSMTPLE - Add SMTP List Entry" in r.stdout
    for keyword in ("TYPE", "INTNETADR", "SUBNETMASK", "HOSTNAME", "IP6PFX", "IP6NETADR"):
        assert f"\n  {keyword} " in r.stdout
    assert "Required, Positional 1" in r.stdout
    assert "PASSWORD" not in cl("rmvsmtple", "--help").stdout


@contextmanager
def unwritable(*paths):
    """Make paths unwritable for whoever runs the test; root needs the immutable attribute."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", *map(str, paths)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
    else:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


def test_user_who_cannot_write_the_library_is_told_and_nothing_changes(cl, qroot):
    library = qroot / "QUSRSYS" / "QATMADRLST"
    accept = library / "ACCEPTRLY"
    accept.write_text("10.1.1.1 255.255.255.255\n")
    with unwritable(library, accept):
        r = cl("addsmtple", "*ACCEPT INTNETADR('10.1.1.2')")
    assert r.returncode == 1, r
    assert r.stderr.startswith("TCP8051 Not authorized to change QUSRSYS/QATMADRLST(ACCEPTRLY)")
    assert "Traceback" not in r.stderr
    assert accept.read_text() == "10.1.1.1 255.255.255.255\n"


def test_attributes_that_cannot_be_written_are_reported_and_kept(cl, qroot):
    config_dir = qroot / "QUSRSYS" / "QATMSMTP"
    before = (config_dir / "CONFIG").read_text()
    with unwritable(config_dir, config_dir / "CONFIG"):
        r = cl("chgsmtpa", "ALWRLY(*NONE)")
    assert r.returncode == 1 and r.stderr.startswith("TCP8051 "), r
    assert (config_dir / "CONFIG").read_text() == before


def test_filter_data_may_begin_with_a_hash(cl, qroot):
    assert cl("addsmtple", "*FTRSUBJECT FTRDATA('#winner')").returncode == 0
    r = cl("addsmtple", "*FTRSUBJECT FTRDATA('#winner')")
    assert r.returncode == 1 and r.stderr.startswith(
        "TCP2650 SMTP list entry already exists in the subject filter list.")
    assert cl("rmvsmtple", "*FTRSUBJECT FTRDATA('#winner')").returncode == 0
    assert lst(qroot, "FTRSUBJECT") == []


def test_hand_made_credentials_member_is_closed_on_first_append(cl, qroot):
    path = qroot / "QUSRSYS" / "QATMADRLST" / "HOSTAUTH"
    path.write_text("")
    path.chmod(0o644)
    assert cl("addsmtple", "*HOSTAUTH HOSTNAME(a.example) USERNAME(u) PASSWORD(p)").returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_data_root_that_is_not_a_directory(cl):
    for args in (["addsmtple", "--type", "accept", "--intnetadr", "10.1.1.1"], ["dspsmtpa"]):
        r = cl(*args, env={"QTSMTP_ROOT": "/dev/null"})
        assert r.returncode == 1, r
        assert r.stderr.startswith("QTS0012 Data root /dev/null not usable: "), r.stderr


def test_monmsg_outside_a_script(cl):
    for args in (["qtsmtp", "MONMSG CPF0000"], ["qtsmtp", "MONMSG", "--msgid", "CPF0000"]):
        r = cl(*args)
        assert (r.returncode, r.stderr) == (
            1, "QTS0006 MONMSG is valid only in a CL script run with qtsmtp run.\n")
