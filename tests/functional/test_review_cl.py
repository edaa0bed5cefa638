"""Found in review of the CL path's speed changes (issue 15): each test failed before its fix."""

from __future__ import annotations

import os
from pathlib import Path

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
