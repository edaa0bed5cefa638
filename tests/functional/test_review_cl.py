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
