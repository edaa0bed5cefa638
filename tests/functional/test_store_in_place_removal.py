"""RMVSMTPLE on a large member marks the record deleted where it is (qatmadrlst(5)):
the same file, the same size, one line turned into a deleted record ("#" and blanks);
the change journal says so, with the modification time the member is left with, so a
server job applies it without a compile, and one that finds the member otherwise (a
command killed before or during its write) compiles from the member. Deleted records
go when the member is next written whole. kill -9 at any moment leaves each record as
it was or deleted, never torn into another entry."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from functools import partial
from pathlib import Path

from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.address import canonical_recipient
from qtsmtp.config.lists import COMPACT_EVERY, IN_PLACE_BYTES
from qtsmtp.config.policyload import PolicySource, compile_policy
from qtsmtp.store import journal
from qtsmtp.store.member import deleted_record
from support import console_process, script

FAR = canonical_recipient("user@far.example")
ACCEPT = lt.LIST_TYPES["*ACCEPT"]
KILL_ROUNDS = 15
KILL_LIMIT_SECONDS = 120


def host(n: int) -> str:
    return f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"


def record(n: int) -> str:
    return f"{host(n)} 255.255.255.255"


def large_member(qroot: Path, cl, count: int = 4000) -> Path:
    """An *ACCEPT member of ``count`` hosts (written by hand, as a big list is brought
    in), ALWRLY(*LIST), and its index made."""
    path = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    path.write_text("".join(record(n) + "\n" for n in range(count)))
    assert path.stat().st_size >= IN_PLACE_BYTES
    assert cl("chgsmtpa", "ALWRLY(*LIST)").returncode == 0
    assert cl("addsmtple", "*ACCEPT INTNETADR('192.0.2.1')").returncode == 0
    return path


def rmv(cl, n: int, **kw):
    return cl("rmvsmtple", f"*ACCEPT INTNETADR('{host(n)}')", **kw)


def relays(policy, n: int) -> bool:
    return policy.check_recipient(host(n), FAR).allowed


def last_journal_record(qroot: Path) -> dict:
    return json.loads((qroot / "QUSRSYS" / journal.JOURNAL).read_bytes().splitlines()[-1])


def test_a_removal_marks_the_record_deleted_where_it_is(cl, qroot) -> None:
    path = large_member(qroot, cl)
    source = PolicySource(qroot, "mail.test", ("127.0.0.1",))
    assert relays(source.current.policy, 1234)
    before, lines_before = path.stat(), path.read_text().splitlines()

    result = rmv(cl, 1234)
    assert result.returncode == 0, result.stderr
    after = path.stat()
    assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)
    lines = path.read_text().splitlines()
    assert lines[1234] == deleted_record(len(record(1234))).decode()
    assert lines[:1234] + lines[1235:] == lines_before[:1234] + lines_before[1235:]
    last = last_journal_record(qroot)
    assert (last["op"], last["records"]) == ("remove", [record(1234)])
    assert last["after"] == [after.st_ino, after.st_size, after.st_mtime_ns]

    # A server job follows the journal: no compile (no note), and the entry is gone.
    assert source.reload() is None
    assert source.notes == []
    assert not relays(source.current.policy, 1234) and relays(source.current.policy, 1235)
    assert not relays(compile_policy(qroot, "mail.test", ("127.0.0.1",)).policy, 1234)

    # The list is what the member says, to the next commands.
    assert rmv(cl, 1234).stderr.startswith("TCP2651 ")
    assert cl("addsmtple", f"*ACCEPT INTNETADR('{host(1234)}')").returncode == 0
    assert path.read_text().endswith(record(1234) + "\n")
    assert cl("addsmtple", f"*ACCEPT INTNETADR('{host(1234)}')").stderr.startswith("TCP2650 ")
    assert source.reload() is None and source.notes == []
    assert relays(source.current.policy, 1234)
    assert rmv(cl, 1234).returncode == 0
    listed = cl("wrksmtple", "*ACCEPT OUTPUT(*PRINT)")   # a deleted record is no entry
    assert listed.returncode == 0 and f" {host(1233)} " in listed.stdout
    assert f" {host(1234)} " not in listed.stdout and "#" not in listed.stdout


def test_deleted_records_go_when_the_member_is_written_whole(cl, qroot, tmp_path) -> None:
    path = large_member(qroot, cl, count=2700)
    lines = len(path.read_text().splitlines())
    removals = lines // COMPACT_EVERY + 11          # past the point of a rewrite
    script_path = tmp_path / "removals.clp"
    script_path.write_text("".join(f"RMVSMTPLE TYPE(*ACCEPT) INTNETADR('{host(n)}')\n"
                                   for n in range(0, 2 * removals, 2)))
    result = cl("qtsmtp", "run", str(script_path))
    assert result.returncode == 0, result.stderr[-2000:]
    text = path.read_text().splitlines()
    deleted = [line for line in text if line.startswith("#")]
    assert 0 < len(deleted) < removals          # the rewrite took out those before it
    kept = {line for line in text if not line.startswith("#")}
    assert kept == {record(n) for n in range(2700) if n % 2 or n >= 2 * removals} | {
        "192.0.2.1 255.255.255.255"}
    # The index counted right: the next removal is in place again, the next add appends.
    assert rmv(cl, 1).returncode == 0
    assert len([line for line in path.read_text().splitlines() if line.startswith("#")]) \
        == len(deleted) + 1
    assert cl("addsmtple", f"*ACCEPT INTNETADR('{host(0)}')").returncode == 0


def test_a_removal_killed_after_its_journal_record_is_caught_by_the_jobs(cl, qroot) -> None:
    path = large_member(qroot, cl)
    source = PolicySource(qroot, "mail.test", ("127.0.0.1",))
    content = path.read_bytes()
    killed = rmv(cl, 77, env={journal.FAULT_ENV: "after-journal"})
    assert killed.returncode == -signal.SIGKILL
    assert path.read_bytes() == content                 # the record is there still
    assert last_journal_record(qroot)["records"] == [record(77)]
    # Same inode, same size: only the time the record promised tells the write never
    # came. The job compiles from the member (TCP3024), which keeps the entry.
    assert source.reload() is None
    assert [note.id for note in source.notes] == ["TCP3024"]
    assert relays(source.current.policy, 77)
    # The next command sees the member as it is too.
    assert rmv(cl, 77).returncode == 0
    assert source.reload() is None and not relays(source.current.policy, 77)


def test_a_removal_killed_after_its_write_before_its_time_is_caught_too(cl, qroot) -> None:
    path = large_member(qroot, cl)
    source = PolicySource(qroot, "mail.test", ("127.0.0.1",))
    killed = rmv(cl, 78, env={journal.FAULT_ENV: "in-place-written"})
    assert killed.returncode == -signal.SIGKILL
    lines = path.read_text().splitlines()
    assert lines[78] == deleted_record(len(record(78))).decode()    # written, never torn
    promised = last_journal_record(qroot)["after"][2]
    assert path.stat().st_mtime_ns != promised
    # The time is not the one promised: the job compiles from the member, which no
    # longer holds the entry; the commands find the member changed and agree.
    assert source.reload() is None
    assert [note.id for note in source.notes] == ["TCP3024"]
    assert not relays(source.current.policy, 78) and relays(source.current.policy, 79)
    assert rmv(cl, 78).stderr.startswith("TCP2651 ")
    assert cl("addsmtple", f"*ACCEPT INTNETADR('{host(78)}')").returncode == 0


def test_kill_9_during_removals_leaves_every_record_whole_or_deleted(cl, qroot) -> None:
    path = large_member(qroot, cl)
    original = path.read_text().splitlines()
    source = PolicySource(qroot, "mail.test", ("127.0.0.1",))
    rnd = random.Random(9)
    env = {**os.environ, "QTSMTP_ROOT": str(qroot)}
    targets = rnd.sample(range(4000), KILL_ROUNDS)
    deadline = time.monotonic() + KILL_LIMIT_SECONDS
    for n in targets:
        assert time.monotonic() < deadline, "the kill rounds took too long"
        process = subprocess.Popen([script("rmvsmtple"), f"*ACCEPT INTNETADR('{host(n)}')"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.0, 0.08))        # before, during or after its write
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    lines = path.read_text().splitlines()
    assert len(lines) == len(original)               # nothing moved: all in place
    for old, now in zip(original, lines):
        # Whole, or deleted; never another entry ("#" first, then the rest, when the
        # record crosses a sector boundary: a comment either way).
        assert now in (old, deleted_record(len(old)).decode(), "#" + old[1:]), (old, now)
        parsed = entries.parse_record(ACCEPT, now)
        assert parsed is None or parsed.record == old
    # Every job ends with the member's policy, whatever the journal had promised.
    assert source.reload() is None
    fresh = compile_policy(qroot, "mail.test", ("127.0.0.1",))
    for n in targets + [0, 3999]:
        assert relays(source.current.policy, n) == relays(fresh.policy, n), n
        # ... and the commands with their index agree with the member.
        present = record(n) in lines
        assert (rmv(cl, n).returncode == 0) == present, n


def rename_in_while_held(removal: subprocess.Popen, path: Path, tmp_path: Path,
                         held, edit) -> None:
    """Once ``held(member bytes)`` says the command is at its held system call, rename
    over the member a file of ``edit(member bytes)`` whose modification time is a minute
    old (an editor, rsync -t); then let the command end: it succeeds."""
    try:
        deadline = time.monotonic() + 60
        while not held(now := path.read_bytes()):
            assert removal.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        aside = tmp_path / "edited"
        aside.write_bytes(edit(now))
        past = time.time_ns() - 60 * 10**9
        os.utime(aside, ns=(past, past))
        os.rename(aside, path)
    finally:
        out, err = removal.communicate(timeout=60)
    assert removal.returncode == 0, (out, err)


def assert_edit_seen(cl, path: Path) -> None:
    """The edit replaced host 7 by host 9: the next command sees that host 7 is gone."""
    again = cl("addsmtple", f"*ACCEPT INTNETADR('{host(7)}')")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, (out, err)        # the member no longer holds it
    assert path.read_text().splitlines().count(record(7)) == 1


def test_a_member_renamed_in_during_a_removal_is_not_taken_for_what_was_written(
        qroot, tmp_path) -> None:
    """A hand edit that renames a file over the member (an editor, rsync -t: its
    modification time from elsewhere, long past) while RMVSMTPLE marks a record deleted
    (held here at its fdatasync, by strace) is seen by the next command: the index does
    not take the renamed file's status for the member it wrote."""
    cl = partial(console_process, qroot)

    path = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    path.write_text("".join(record(n) + "\n" for n in range(4000)))
    assert cl("chgsmtpa", "ALWRLY(*LIST)").wait(60) == 0
    assert cl("addsmtple", "*ACCEPT INTNETADR('192.0.2.1')").wait(60) == 0
    edited = path.read_bytes().replace(f"\n{record(7)}\n".encode(),
                                       f"\n{record(9)}\n".encode())    # same size
    deleted = b"\n" + deleted_record(len(record(1234))) + b"\n"
    removal = cl("rmvsmtple", f"*ACCEPT INTNETADR('{host(1234)}')",
                 held_at="fdatasync", seconds=3)
    rename_in_while_held(removal, path, tmp_path,
                         held=lambda now: deleted in now,   # written; now at its fdatasync
                         edit=lambda now: edited)
    assert_edit_seen(cl, path)


def test_a_member_renamed_in_during_a_rewrite_is_not_taken_for_what_was_written(
        qroot, tmp_path) -> None:
    """The same race for a removal that writes the member whole (one of 8 to 64 KiB,
    which keeps an index): a file renamed over it while RMVSMTPLE is at its directory
    fsync (after its own rename) is seen by the next command."""
    cl = partial(console_process, qroot)

    path = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    path.write_text("".join(record(n) + "\n" for n in range(600)))
    assert 8192 < path.stat().st_size < IN_PLACE_BYTES
    assert cl("chgsmtpa", "ALWRLY(*LIST)").wait(60) == 0
    assert cl("addsmtple", "*ACCEPT INTNETADR('192.0.2.1')").wait(60) == 0
    gone = f"\n{record(123)}\n".encode()
    removal = cl("rmvsmtple", f"*ACCEPT INTNETADR('{host(123)}')", held_at="fsync", seconds=2)
    rename_in_while_held(removal, path, tmp_path,
                         held=lambda now: gone not in now,  # renamed in; now at the fsync
                         edit=lambda now: now.replace(f"\n{record(7)}\n".encode(),
                                                      f"\n{record(9)}\n".encode()))
    assert_edit_seen(cl, path)


def test_a_member_cut_short_in_place_during_a_removal_gets_no_nul_bytes(qroot) -> None:
    """A hand edit that rewrites the member in place, shorter (``cat new > member``),
    while RMVSMTPLE is between the two writes of a record that crosses a sector
    boundary (held at its fdatasync by strace): the second write is not made (past the
    new end it would fill the gap with NUL bytes), the member is the hand edit's, and
    the command fails with TCP2651 instead of reporting the removal."""
    cl = partial(console_process, qroot)

    path = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    path.write_text("".join(record(n) + "\n" for n in range(4000)))
    assert cl("chgsmtpa", "ALWRLY(*LIST)").wait(60) == 0
    assert cl("addsmtple", "*ACCEPT INTNETADR('192.0.2.1')").wait(60) == 0
    data = path.read_bytes()
    for n in range(3000, 4000):                  # a record across a sector boundary
        at = data.index(f"\n{record(n)}\n".encode()) + 1
        if at // 512 != (at + len(record(n)) - 1) // 512:
            break
    removal = cl("rmvsmtple", f"*ACCEPT INTNETADR('{host(n)}')",
                 held_at="fdatasync", seconds=3)
    hand = "10.7.7.7 255.255.255.255\n"
    try:
        deadline = time.monotonic() + 60
        while path.read_bytes()[at:at + 1] != b"#":     # its first write made
            assert removal.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        with open(path, "w") as f:
            f.write(hand)
    finally:
        out, err = removal.communicate(timeout=60)
    assert path.read_text() == hand
    assert removal.returncode != 0 and "TCP2651" in err, (out, err)
    assert "Traceback" not in err
