"""Found in review of the CL path's speed changes (issue 15): each test failed before its fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.lists import ListMember
from qtsmtp.store.member import group_commit

ACCEPT = lt.LIST_TYPES["*ACCEPT"]


def test_an_index_deleted_between_two_groups_of_a_script_is_made_again(qroot: Path):
    """qatmadrlst(5): the index "may be deleted at any time". A script lets the member
    lock go at each group's flush; an index deleted then is made again by the script's
    next command, not kept open, deleted, for the rest of the run (then lost with it)."""
    index = qroot / "QUSRSYS" / "QATMADRLST" / ".ACCEPTRLY.idx"
    host = iter(f"10.0.0.{n}" for n in range(1, 100))
    with group_commit() as group:
        for _ in range(3):
            for _ in range(2):        # the second command finds the index the one it opened
                with ListMember(qroot, ACCEPT) as member:
                    member.add(entries.ip4_entry(ACCEPT, next(host)))
                assert index.exists()
            group.flush()             # the lock let go: anyone may change the list now
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(f"{index}{suffix}")
                except FileNotFoundError:
                    pass


@pytest.mark.parametrize("through_typer", ["", "1"])
@pytest.mark.parametrize(("option", "value"), [
    ("--rblsvr", "a.example) AUTOSTART(*NO"),      # a list parameter
    ("--rtymin", "5) RTYDAY(9"),                     # an element list
    ("--rblsvr", "a.example) ?AUTOSTART("),
])
def test_an_option_value_that_closes_its_own_parenthesis_is_refused(cl, qroot, option, value,
                                                                     through_typer):
    """The option form reads a list value as CL inside V(...): a value whose ")" ends
    that list early was cut there, the rest dropped without a word (the command said
    TCP2662). It is refused as the CL form refuses the same text: CPD0013."""
    config = qroot / "QUSRSYS" / "QATMSMTP" / "CONFIG"
    before = config.read_bytes()
    result = cl("chgsmtpa", option, value, env={"QTSMTP_OPTIONS_THROUGH_TYPER": through_typer})
    assert result.returncode == 2, result
    assert result.stderr.splitlines()[0].startswith("CPD0013 "), result.stderr
    assert result.stderr.splitlines()[-1].startswith("CPF0006 "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert config.read_bytes() == before


@pytest.mark.parametrize("prefix", ["\u00b2", "\u2460", "1\u00b9"])      # ², ①, 1¹
def test_a_prefix_of_digits_int_refuses_is_a_bad_record_not_an_internal_error(cl, qroot, prefix):
    """str.isdigit() takes superscripts and circled digits, which int() refuses: a hand-
    edited IPv6 record "2001:db8:: ²" made every ADDSMTPLE on the list end in TCP9999
    (a Python ValueError) and TSTSMTPRLY blame record - of member CONFIG. It is a record
    that is not valid (TCP1904), as "2001:db8:: x" is: passed over with TCP2671."""
    member = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTIP6"
    member.write_text(f"2001:db8:: {prefix}\n", encoding="utf-8")
    added = cl("addsmtple", "*ACCEPTIP6 IP6NETADR('2001:db8:1::')")
    assert added.returncode == 0, added
    assert added.stdout.startswith("TCP2660 "), added
    assert added.stderr.startswith("TCP2671 Member ACCEPTIP6 ") and " record 1: " in added.stderr
    assert "TCP9999" not in added.stderr + added.stdout
    tested = cl("qtsmtp", "TSTSMTPRLY CLIENT('2001:db8::1') RCPT('a@b.example')")
    assert "TCP2670 Member ACCEPTIP6 file QATMADRLST in library QUSRSYS not valid at record 1: " \
           "IPv6 prefix length" in tested.stdout + tested.stderr, tested
