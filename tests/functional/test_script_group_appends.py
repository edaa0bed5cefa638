"""qtsmtp run keeps a member open from one ADDSMTPLE to the next until its group is
flushed (store.member: SyncGroup.appending), instead of opening it for each command. It
writes to the file it holds only while the member's path still names that file, looks
at the member's last byte again when anyone else wrote to it, and syncs every file it
wrote before it reports a change. Each test holds the script at every append's
utimensat (strace) and plays, in that window, a writer that ignores the member lock:
the one writer the lock cannot keep out (qatmadrlst(5))."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import time
from pathlib import Path

from support import console_process, eventually, script

from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.lists import ListMember, read_entries
from qtsmtp.store.member import group_commit

ACCEPT = lt.LIST_TYPES["*ACCEPT"]
HOSTS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
HELD_SECONDS = 2


def record(host: str) -> str:
    return f"{host} 255.255.255.255"


def member_path(qroot: Path) -> Path:
    return qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"


def run_held(qroot: Path, tmp_path: Path, edit) -> tuple[str, str]:
    """Run a script adding HOSTS, each append held at its utimensat; ``edit(path)`` is
    played once the first record is in the member, while the script is held there.
    Returns the script's output and errors, once it ended with status 0."""
    source = tmp_path / "adds.clp"
    source.write_text("".join(f"ADDSMTPLE *ACCEPT INTNETADR('{h}')\n" for h in HOSTS))
    path = member_path(qroot)
    process = console_process(qroot, "qtsmtp", "run", str(source), held_at="utimensat",
                              seconds=HELD_SECONDS)
    try:
        eventually(lambda: path.exists() and record(HOSTS[0]) in path.read_text(),
                   "the first record written", limit=60)
        edit(path)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, (out, err)
    assert out.count("TCP2660") == len(HOSTS), out
    return out, err


def addsmtple(cl, host: str) -> str:
    result = cl("addsmtple", f"*ACCEPT INTNETADR('{host}')")
    return result.stderr.split(" ", 1)[0] if result.returncode else "TCP2660"


def test_a_member_renamed_over_between_two_appends_gets_the_next_ones(cl, qroot, tmp_path):
    def rename_over(path: Path) -> None:       # an editor that ignores the lock
        edited = path.with_name(".ACCEPTRLY.edit")
        edited.write_text(record("10.8.8.8") + "\n")
        os.rename(edited, path)

    run_held(qroot, tmp_path, rename_over)
    assert member_path(qroot).read_text().splitlines() == [
        record("10.8.8.8"), record(HOSTS[1]), record(HOSTS[2])]
    # The next command knows the member as it is: the first record went with the old file.
    assert addsmtple(cl, HOSTS[2]) == "TCP2650"
    assert addsmtple(cl, "10.8.8.8") == "TCP2650"
    assert addsmtple(cl, HOSTS[0]) == "TCP2660"


def test_a_member_moved_away_between_two_appends_is_made_again(cl, qroot, tmp_path):
    moved = member_path(qroot).with_name("ACCEPTRLY.old")
    run_held(qroot, tmp_path, lambda path: os.rename(path, moved))
    assert moved.read_text().splitlines() == [record(HOSTS[0])]
    assert member_path(qroot).read_text().splitlines() == [record(HOSTS[1]), record(HOSTS[2])]
    assert addsmtple(cl, HOSTS[1]) == "TCP2650"
    assert addsmtple(cl, HOSTS[0]) == "TCP2660"


def test_a_line_appended_by_hand_without_its_newline_is_closed_first(cl, qroot, tmp_path):
    def append_open_line(path: Path) -> None:
        with open(path, "a") as member:
            member.write("10.7.7.7")

    run_held(qroot, tmp_path, append_open_line)
    assert member_path(qroot).read_text() == "".join(
        record(h) + "\n" for h in (HOSTS[0], "10.7.7.7", HOSTS[1], HOSTS[2])
    ).replace(record("10.7.7.7"), "10.7.7.7")
    assert addsmtple(cl, "10.7.7.7") == "TCP2650"
    assert {e.address for e in read_entries(qroot, ACCEPT)} == {*HOSTS, "10.7.7.7"}


def test_every_file_a_group_wrote_is_synced_before_the_flush_returns(qroot, monkeypatch):
    """The member renamed over in the middle of a group: the group wrote to two files,
    and both are synced (what went to the old one was written, and is reported, too)."""
    synced: list[int] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    path = member_path(qroot)
    with group_commit() as group:
        with ListMember(qroot, ACCEPT) as member:
            member.add(entries.ip4_entry(ACCEPT, HOSTS[0]))
        first = path.stat().st_ino
        with ListMember(qroot, ACCEPT) as member:
            member.add(entries.ip4_entry(ACCEPT, HOSTS[1]))
        assert path.stat().st_ino == first       # one file, open once: no new inode
        edited = path.with_name(".ACCEPTRLY.edit")
        edited.write_text("")
        os.rename(edited, path)
        with ListMember(qroot, ACCEPT) as member:
            member.add(entries.ip4_entry(ACCEPT, HOSTS[2]))
        second = path.stat().st_ino
        monkeypatch.setattr(os, "fsync", recording_fsync)
        assert group.count == 3
        group.flush()
        monkeypatch.setattr(os, "fsync", real_fsync)
    assert first != second and {first, second} <= set(synced)
    assert path.read_text() == record(HOSTS[2]) + "\n"
    assert group.appending == {} and group.fds == {}


def test_a_script_killed_mid_group_leaves_the_member_whole_and_its_index_in_step(cl, qroot):
    """kill -9 of qtsmtp run at random moments while it appends (the member open, the
    index's rows not yet in its file): the member parses, each of its lines is a whole
    record of the script, and the next script finds every entry of the member by its
    index (TCP2650 for each) and adds the ones that are not there."""
    rng = random.Random(1515)
    path = member_path(qroot)
    env = {**os.environ, "QTSMTP_ROOT": str(qroot), "PYTHONUNBUFFERED": "1"}
    wanted: list[str] = []
    killed_mid_script = 0
    for round_ in range(10):
        hosts = [f"10.{round_}.{n // 250}.{n % 250}" for n in range(2500)]
        wanted += hosts
        source = "RMVSMTPLE *ACCEPT INTNETADR('192.0.2.1')\nMONMSG TCP2651\n" + "".join(
            f"ADDSMTPLE *ACCEPT INTNETADR('{h}')\n" for h in hosts)
        proc = subprocess.Popen([script("qtsmtp"), "run", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        proc.stdin.write(source.encode())
        proc.stdin.close()
        waiting = select.poll()
        waiting.register(proc.stderr, select.POLLIN)
        waiting.poll(30_000)           # under way: the monitored TCP2651 is out
        time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)     # each round is bounded: the script dies here
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
        lines = path.read_text().splitlines()
        assert set(lines) <= {record(h) for h in wanted}, f"round {round_}: a torn record"
        assert len(lines) == len(set(lines)), f"round {round_}: a record twice"
        ran = len({record(h) for h in hosts} & set(lines))
        killed_mid_script += 0 < ran < len(hosts)
        # The index agrees with the member: every entry there is found, the rest added.
        again = "".join(f"ADDSMTPLE *ACCEPT INTNETADR('{h}')\nMONMSG TCP2650\n" for h in wanted)
        result = cl("qtsmtp", "run", "-", input=again)
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stderr.count("TCP2650") == len(lines), f"round {round_}"
        assert result.stdout.count("TCP2660") == len(wanted) - len(lines), f"round {round_}"
        assert sorted(path.read_text().splitlines()) == sorted(record(h) for h in wanted)
    assert killed_mid_script >= 4, killed_mid_script      # the kills landed mid-group
