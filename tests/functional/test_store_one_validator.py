"""Issue 16 item 6: values the writer took and the reader refused bricked a list or
CONFIG. Now a command stores only what the reader reads as asked, and says when an
entry opens the relay to the world."""

from __future__ import annotations

import pytest

from support import free_port
from support.server import Server

BRICKS = ["*NEAR HOSTNAME(129)", "*NEAR HOSTNAME('1.2.3')", "*NEAR HOSTNAME('999.1.1.1')",
          "*NEAR HOSTNAME('10.0.0.0')", "*DOMAIN HOSTNAME('10.0.0.0')"]


@pytest.fixture
def root(tmp_path) -> Server:
    server = Server.on_new_root(tmp_path / "root", f"FWDHUBSVR('127.0.0.1:{free_port()}')")
    yield server
    assert not server.shut_down()


@pytest.mark.parametrize("command", BRICKS)
def test_an_address_given_as_a_host_name_is_refused_and_the_list_stays_usable(root, command) -> None:
    result = root.run("addsmtple", command, check=False)
    assert result.returncode == 1 and "TCP1905" in result.stderr, result.stderr
    assert "last label is all digits" in result.stderr
    member = root.root / "QUSRSYS" / "QATMADRLST" / command.split()[0][1:]
    assert not member.exists() or member.read_text().strip() == ""
    # The list takes its next entries, and the server starts on it.
    root.run("addsmtple", "*NEAR HOSTNAME('near.example')")
    root.run("addsmtple", "*DOMAIN HOSTNAME('local.example')")
    root.start("SVRJOBS(1)")
    # postmaster: every local domain has one (an unknown local user gets 550 5.1.1).
    assert root.rcpt_code("127.0.0.2", "postmaster@local.example") == 250


@pytest.mark.parametrize("command", ["SBSD('a b')", "TBLSMTPOUT('a b')", "TBLSMTPIN('x y')"])
def test_chgsmtpa_stores_no_value_its_reader_refuses(root, command) -> None:
    config = root.root / "QUSRSYS" / "QATMSMTP" / "CONFIG"
    before = config.read_bytes()
    result = root.run("chgsmtpa", command, check=False)
    assert result.returncode == 1 and "TCP2693" in result.stderr, result.stderr
    assert config.read_bytes() == before
    assert "TCP2670" not in root.run("dspsmtpa").stderr
    root.run("chgsmtpa", "MAXRCPT(50)")
    root.start("SVRJOBS(1)")


def test_etrnsvr_entries_are_stored_and_read(root) -> None:
    root.run("addsmtple", "*ETRNSVR HOSTNAME('mail.example.com')")
    root.run("addsmtple", "*ETRNSVR INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')")
    member = (root.root / "QUSRSYS" / "QATMADRLST" / "ETRNSVR").read_text()
    assert member == "mail.example.com\n10.1.1.0 255.255.255.0\n"
    again = root.run("addsmtple", "*ETRNSVR HOSTNAME('MAIL.example.com.')", check=False)
    assert again.returncode == 1 and "TCP2650" in again.stderr
    root.run("rmvsmtple", "*ETRNSVR HOSTNAME('mail.example.com')")
    root.start("SVRJOBS(1)")


@pytest.mark.parametrize("command", ["*ACCEPT INTNETADR('0.0.0.0') SUBNETMASK('0.0.0.0')",
                                     "*ACCEPTIP6 IP6NETADR('::') IP6PFX(0)",
                                     "*NEAR HOSTNAME('.com')",
                                     "*NEAR INTNETADR('10.0.0.0') SUBNETMASK('0.0.0.0')"])
def test_an_entry_that_opens_the_relay_to_the_world_is_warned_of(root, command) -> None:
    result = root.run("addsmtple", command)
    assert "TCP2660" in result.stdout and "TCP2694" in result.stderr, result.stderr


def test_an_ordinary_entry_gets_no_warning(root) -> None:
    for command in ("*ACCEPT INTNETADR('10.0.0.0') SUBNETMASK('255.0.0.0')",
                    "*NEAR HOSTNAME('.example.com')"):
        assert "TCP2694" not in root.run("addsmtple", command).stderr
