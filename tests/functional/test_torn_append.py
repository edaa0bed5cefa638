"""A record torn by a command killed in its append is never taken for a record.

ADDSMTPLE appends its record and newline in one write(), but the kernel copies a write
a page at a time and a SIGKILL between two pages ends it there: "10.0.1.25" can be left
as "10.0.1.2", another address, without its newline. The command journaled the append
first, so the journal says which record it was. The state is made here as such a kill
leaves it: the command killed after its journal record (the fault point
"after-journal"), then the start of its line written, as the kernel would have.

Before TCP2675 the next command closed that line with a newline, as it closes a
hand-edited last line, and 10.0.1.2 could relay from then on; a server compiling the
member took it for an entry at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from qtsmtp.config.address import canonical_recipient
from qtsmtp.config.policyload import PolicySource, compile_policy
from qtsmtp.store import journal
from support import script

FAR = canonical_recipient("user@far.example")


def member(qroot: Path) -> Path:
    return qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"


def relays(qroot: Path, address: str) -> bool:
    policy = compile_policy(qroot, "mail.test", ("127.0.0.1",)).policy
    return policy.check_recipient(address, FAR).allowed


def add(cl, address: str, **kw):
    return cl("addsmtple", f"*ACCEPT INTNETADR('{address}')", **kw)


def killed_append(cl, qroot: Path, address: str, keep: int) -> bytes:
    """ADDSMTPLE of ``address`` killed in its write after ``keep`` bytes of its line
    (its newline included, and a newline before it that closes an open last line)."""
    killed = add(cl, address, env={journal.FAULT_ENV: "after-journal"})
    assert killed.returncode == -signal.SIGKILL
    record = json.loads((qroot / "QUSRSYS" / journal.JOURNAL).read_bytes().splitlines()[-1])
    assert record["op"] == "add" and record["records"] == [f"{address} 255.255.255.255"]
    written = record["after"][1] - record["before"][1]
    line = f"{address} 255.255.255.255\n".encode()
    line = line if len(line) == written else b"\n" + line
    with member(qroot).open("ab") as f:
        f.write(line[:keep])
    return line[:keep]


def lines(qroot: Path) -> list[str]:
    return member(qroot).read_text().splitlines()


def setup(cl) -> None:
    assert cl("chgsmtpa", "ALWRLY(*LIST)").returncode == 0
    assert add(cl, "10.0.1.1").returncode == 0


def test_a_server_compiles_the_member_without_the_torn_record(cl, qroot) -> None:
    setup(cl)
    source = PolicySource(qroot, "mail.test", ("127.0.0.1",))
    assert killed_append(cl, qroot, "10.0.1.25", len("10.0.1.2")) == b"10.0.1.2"
    assert member(qroot).read_bytes().endswith(b"\n10.0.1.2")
    assert relays(qroot, "10.0.1.1")
    assert not relays(qroot, "10.0.1.2") and not relays(qroot, "10.0.1.25")
    # A job that follows the journal: the record promised a member it does not find,
    # so the job compiles from the member, without the torn line.
    assert source.reload() is None
    policy = source.current.policy
    assert policy.check_recipient("10.0.1.1", FAR).allowed
    assert not policy.check_recipient("10.0.1.2", FAR).allowed
    assert not policy.check_recipient("10.0.1.25", FAR).allowed


def test_the_next_command_cuts_the_torn_record_off_and_says_so(cl, qroot) -> None:
    setup(cl)
    killed_append(cl, qroot, "10.0.1.25", len("10.0.1.2"))
    result = add(cl, "10.0.1.30")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("TCP2675 Record 10.0.1.2 at the end of member ACCEPTRLY "
                                    "file QATMADRLST in library QUSRSYS removed"), result.stderr
    assert result.stdout.startswith("TCP2660 ")
    assert lines(qroot) == ["10.0.1.1 255.255.255.255", "10.0.1.30 255.255.255.255"]
    # 10.0.1.2 is no entry: it can be added, and only then does it relay.
    assert not relays(qroot, "10.0.1.2")
    assert add(cl, "10.0.1.2").returncode == 0
    assert relays(qroot, "10.0.1.2")
    again = add(cl, "10.0.1.31")                  # said once: the member is whole now
    assert again.returncode == 0 and "TCP2675" not in again.stdout + again.stderr


def test_a_removal_cuts_it_off_too(cl, qroot) -> None:
    setup(cl)
    assert add(cl, "10.0.1.3").returncode == 0
    killed_append(cl, qroot, "10.0.1.25", len("10.0.1.2"))
    result = cl("rmvsmtple", "*ACCEPT INTNETADR('10.0.1.3')")
    assert result.returncode == 0, result.stderr
    assert "TCP2675 " in result.stdout + result.stderr
    assert lines(qroot) == ["10.0.1.1 255.255.255.255"]


def test_a_torn_record_after_a_hand_edited_open_line(cl, qroot) -> None:
    # The append first closed the open line with a newline: that much of the write
    # came, and the open line is a record (a hand edit's), the torn start is not.
    setup(cl)
    with member(qroot).open("ab") as f:
        f.write(b"10.0.1.7 255.255.255.255")
    assert killed_append(cl, qroot, "10.0.1.25", 1 + len("10.0.1.2")) == b"\n10.0.1.2"
    assert relays(qroot, "10.0.1.7") and not relays(qroot, "10.0.1.2")
    result = add(cl, "10.0.1.30")
    assert result.returncode == 0 and "TCP2675 " in result.stdout + result.stderr
    assert lines(qroot) == ["10.0.1.1 255.255.255.255", "10.0.1.7 255.255.255.255",
                            "10.0.1.30 255.255.255.255"]


def test_a_hand_edited_open_last_line_stays_a_record(cl, qroot) -> None:
    setup(cl)
    with member(qroot).open("ab") as f:
        f.write(b"10.0.1.7 255.255.255.255")          # no newline: an editor's doing
    assert relays(qroot, "10.0.1.7")
    result = add(cl, "10.0.1.30")
    assert result.returncode == 0 and "TCP2675" not in result.stdout + result.stderr
    assert lines(qroot) == ["10.0.1.1 255.255.255.255", "10.0.1.7 255.255.255.255",
                            "10.0.1.30 255.255.255.255"]


def test_an_open_line_that_is_not_the_journaled_record_stays(cl, qroot) -> None:
    # Killed before any byte came, then a hand edit wrote another line without its
    # newline: not the start of what the journal says, so it is the editor's record.
    setup(cl)
    killed_append(cl, qroot, "10.0.1.25", 0)
    with member(qroot).open("ab") as f:
        f.write(b"10.0.1.9")
    assert relays(qroot, "10.0.1.9")
    result = add(cl, "10.0.1.30")
    assert result.returncode == 0 and "TCP2675" not in result.stdout + result.stderr
    assert lines(qroot)[-2:] == ["10.0.1.9", "10.0.1.30 255.255.255.255"]


def test_a_record_short_of_its_newline_alone_is_whole(cl, qroot) -> None:
    # All of the record came but its newline (or a hand edit took the newline away):
    # it is the record the command was adding, and the next command closes its line.
    setup(cl)
    killed_append(cl, qroot, "10.0.1.25", len("10.0.1.25 255.255.255.255"))
    assert relays(qroot, "10.0.1.25")
    result = add(cl, "10.0.1.30")
    assert result.returncode == 0 and "TCP2675" not in result.stdout + result.stderr
    assert lines(qroot)[-2:] == ["10.0.1.25 255.255.255.255", "10.0.1.30 255.255.255.255"]


# --- review of 70e8b6e -----------------------------------------------------------------

def test_a_torn_record_stays_torn_after_hundreds_of_other_changes(cl, qroot, tmp_path) -> None:
    # The member's last journal record is then far from the journal's end (more than the
    # 64 KiB of it read for the last generation): it is still the record the journal says
    # was being added, so its torn start must not become the address 10.0.1.2.
    setup(cl)
    killed_append(cl, qroot, "10.0.1.25", len("10.0.1.2"))
    clp = tmp_path / "reject.clp"
    clp.write_text("".join(f"ADDSMTPLE TYPE(*REJECT) INTNETADR('10.9.{n // 250}.{n % 250 + 1}')\n"
                           for n in range(600)))
    done = cl("qtsmtp", "run", str(clp))
    assert done.returncode == 0, done.stderr[-2000:]
    assert (qroot / "QUSRSYS" / journal.JOURNAL).stat().st_size > journal.TAIL_BYTES + 4096
    assert not relays(qroot, "10.0.1.2")             # the server's compile
    result = add(cl, "10.0.1.30")
    assert result.returncode == 0, result.stderr
    assert "TCP2675 Record 10.0.1.2 " in result.stderr, result.stderr
    assert lines(qroot) == ["10.0.1.1 255.255.255.255", "10.0.1.30 255.255.255.255"]
    assert not relays(qroot, "10.0.1.2")


def test_a_server_takes_no_torn_record_of_another_list_either(tmp_path) -> None:
    # The relay policy is not the only list a server job reads without the lock: the
    # ETRN server list, the mail filters, the bind lists, the delivery's *HOSTAUTH
    # (config.lists.read_entries). "127.0.0.66" torn as "127.0.0.6" must not let
    # 127.0.0.6 start a queue run.
    import smtplib
    import subprocess

    from support import script
    from support.server import Server

    server = Server.on_new_root(tmp_path / "root", "ETRNSVR(*YES)")
    try:
        server.run("addsmtple", "*ETRNSVR", "INTNETADR('127.0.0.5')")
        killed = subprocess.run([script("addsmtple"), "*ETRNSVR", "INTNETADR('127.0.0.66')"],
                                env={**server.env, journal.FAULT_ENV: "after-journal"},
                                capture_output=True, timeout=60)
        assert killed.returncode == -signal.SIGKILL
        listed = server.root / "QUSRSYS" / "QATMADRLST" / "ETRNSVR"
        with listed.open("ab") as f:
            f.write(b"127.0.0.6")
        server.start("SVRJOBS(1)")

        def etrn(source: str) -> int:
            client = smtplib.SMTP("127.0.0.1", server.port, source_address=(source, 0),
                                  timeout=30)
            try:
                client.ehlo("branch.test")
                return client.docmd("ETRN", "branch.test")[0]
            finally:
                client.quit()

        assert etrn("127.0.0.5") != 459                  # listed
        assert etrn("127.0.0.6") == 459                  # only the start of a record
    finally:
        server.shut_down()


def test_a_hand_edit_of_credentials_that_moves_the_last_record_loses_nothing(cl, qroot) -> None:
    # The journal holds no records of a member of credentials, so its torn record is
    # known by sizes alone. An editor that writes the member in place, without an
    # earlier line and without the last newline, leaves a size that fits those sizes:
    # that is no torn record (it does not start a line where the append began), and
    # cutting there would leave the start of the last user's password as a record.
    for host, user, password in (("a.example", "ua", "pa"), ("b.example", "ub", "pb"),
                                 ("c.example", "uc", "a-much-longer-password")):
        done = cl("addsmtple", f"*HOSTAUTH HOSTNAME({host}) USERNAME({user}) "
                               f"PASSWORD('{password}')")
        assert done.returncode == 0, done.stderr
    path = qroot / "QUSRSYS" / "QATMADRLST" / "HOSTAUTH"
    records = path.read_bytes().splitlines()
    with path.open("r+b") as f:                      # in place: the same file
        edited = b"\n".join(records[1:])             # a.example gone, no last newline
        f.write(edited)
        f.truncate()
    result = cl("addsmtple", "*HOSTAUTH HOSTNAME(d.example) USERNAME(ud) PASSWORD('pd')")
    assert result.returncode == 0, result.stderr
    assert "TCP2675" not in result.stdout + result.stderr
    assert path.read_bytes().splitlines()[:2] == records[1:]


def test_a_journal_record_without_its_records_cuts_nothing_from_a_list(cl, qroot) -> None:
    # Only a member of credentials has its records left out of the journal; a list's
    # record without them (a journal made by hand) says nothing of what was written,
    # and sizes alone must not cut whole records of it.
    setup(cl)
    for address in ("10.0.1.2", "10.0.1.3", "10.0.1.4"):
        assert add(cl, address).returncode == 0
    path = qroot / "QUSRSYS" / journal.JOURNAL
    text = path.read_bytes().splitlines(keepends=True)
    last = json.loads(text[-1])
    del last["records"]
    last["before"][1] -= 50                             # as if the last three were one,
    last["after"][1] += 10                              # and longer
    text[-1] = json.dumps(last, separators=(",", ":")).encode() + b"\n"
    path.write_bytes(b"".join(text))
    with member(qroot).open("r+b") as f:               # the last newline taken away
        f.truncate(member(qroot).stat().st_size - 1)
    result = add(cl, "10.0.1.30")
    assert result.returncode == 0 and "TCP2675" not in result.stdout + result.stderr
    assert lines(qroot) == [f"10.0.1.{n} 255.255.255.255" for n in (1, 2, 3, 4, 30)]


def test_a_torn_first_record_of_a_new_member(cl, qroot) -> None:
    # The first entry of a list whose member does not exist yet: the journal's record
    # has no size before (null), the member's start. "2001:db8::1 128" torn as
    # "2001:db8::1 12" would be a /12 that relays for a sixteenth of 2000::/3.
    setup(cl)
    path = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTIP6"
    assert not path.exists()
    killed = cl("addsmtple", "*ACCEPTIP6 IP6NETADR('2001:db8::1') IP6PFX(128)",
                env={journal.FAULT_ENV: "after-journal"})
    assert killed.returncode == -signal.SIGKILL
    record = json.loads((qroot / "QUSRSYS" / journal.JOURNAL).read_bytes().splitlines()[-1])
    assert record["before"] is None and record["records"][0].endswith(" 128")
    with path.open("ab") as f:
        f.write(record["records"][0][:-1].encode())
    assert not relays(qroot, "2001:db0::7")
    result = cl("addsmtple", "*ACCEPTIP6 IP6NETADR('2001:db8::2') IP6PFX(128)")
    assert result.returncode == 0, result.stderr
    assert "TCP2675 " in result.stderr, result.stderr
    assert path.read_text().splitlines() == ["2001:db8::2 128"]
    assert not relays(qroot, "2001:db0::7")


def test_tcp2675_shows_a_byte_that_is_not_utf8_as_the_other_messages_do(cl, qroot) -> None:
    # A record given in another encoding than UTF-8 (a Latin-1 shell): its bytes are
    # kept as they are, and a message shows one it cannot decode as \xNN, not as U+FFFD
    # (which would not say which byte it was).
    assert cl("addsmtple", "*FTRSUBJECT FTRDATA('*first*')").returncode == 0
    value = "FTRDATA('*caf\udce9 bar*')"            # b"\xe9" from the command line
    killed = subprocess.run([script("addsmtple"), "*FTRSUBJECT",
                             value.encode("utf-8", "surrogateescape")],
                            env={**os.environ, "QTSMTP_ROOT": str(qroot),
                                 journal.FAULT_ENV: "after-journal"},
                            capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    path = qroot / "QUSRSYS" / "QATMADRLST" / "FTRSUBJECT"
    with path.open("ab") as f:
        f.write(b"*caf\xe9 b")
    result = cl("addsmtple", "*FTRSUBJECT FTRDATA('*third*')")
    assert result.returncode == 0, result.stderr
    assert ("TCP2675 Record *caf\\xe9 b at the end of member FTRSUBJECT"
            in result.stderr), result.stderr
    assert path.read_bytes() == b"*first*\n*third*\n"


def test_a_user_who_may_not_read_the_journal_still_tests_relays(tmp_path) -> None:
    # The journal is the administrator's (mode 0600); the lists are readable by all, and
    # TSTSMTPRLY by any user compiles the policy from them. A hand-edited open last line
    # sends that compile to the journal: one it may not read says nothing, and the line
    # is a record as before, not a TCP9999.
    import shutil
    import tempfile

    from support import new_library

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        import pytest
        pytest.skip("needs root and setpriv(1) to run a command as another user")
    where = Path(tempfile.mkdtemp(prefix="qtsmtp-open-"))
    try:
        where.chmod(0o755)
        root = new_library(where / "root")
        env = {**os.environ, "QTSMTP_ROOT": str(root)}
        for args in (("chgsmtpa", "ALWRLY(*LIST)"), ("addsmtple", "*ACCEPT INTNETADR('10.0.1.1')")):
            assert subprocess.run([script(args[0]), args[1]], env=env, capture_output=True,
                                  timeout=60).returncode == 0
        assert (root / "QUSRSYS" / journal.JOURNAL).stat().st_mode & 0o077 == 0
        with (root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY").open("ab") as f:
            f.write(b"10.0.1.7 255.255.255.255")          # no newline: an editor's doing
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 script("tstsmtprly"), "CLIENT('10.0.1.7') RCPT('u@far.example')"],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "TCP2680 Relay test: client 10.0.1.7 may send" in result.stdout + result.stderr
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_a_torn_record_stays_torn_across_the_journals_cut(cl, qroot, tmp_path) -> None:
    # Past MAX_BYTES the journal is cut back to its last KEEP_BYTES: a member left alone
    # meanwhile would lose the record that says its open line is a torn append. The cut
    # carries that record over, so the start of '10.0.1.25' never becomes 10.0.1.2.
    setup(cl)
    killed_append(cl, qroot, "10.0.1.25", len("10.0.1.2"))
    path = qroot / "QUSRSYS" / journal.JOURNAL
    first = path.read_bytes().splitlines()[0]
    clp = tmp_path / "reject.clp"
    clp.write_text("".join(f"ADDSMTPLE TYPE(*REJECT) "
                           f"INTNETADR('10.{100 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}')\n"
                           for n in range(9000)))
    done = cl("qtsmtp", "run", str(clp))
    assert done.returncode == 0, done.stderr[-2000:]
    assert path.read_bytes().splitlines()[0] != first           # it was cut back
    assert not relays(qroot, "10.0.1.2")             # the server's compile
    # A job that follows the journal across the next cut: it passes over the record
    # carried over again (a generation it has read), and applies the rest.
    source = PolicySource(qroot, "mail.test", ("127.0.0.1",))
    journal_now = path.read_bytes()
    more = (journal.MAX_BYTES - len(journal_now)) // len(journal_now.splitlines()[-1]) + 300
    clp.write_text("".join(f"ADDSMTPLE TYPE(*REJECT) INTNETADR('10.200.{n // 250}.{n % 250 + 1}')\n"
                           for n in range(more)))
    done = cl("qtsmtp", "run", str(clp))
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(path.read_bytes()) < len(journal_now)            # cut back again
    assert b'"member":"ACCEPTRLY"' in path.read_bytes().splitlines()[1]     # carried
    assert source.reload() is None
    assert not [n for n in source.notes if n.id == "TCP3024"], [str(n) for n in source.notes]
    assert not source.current.policy.check_recipient("10.0.1.2", FAR).allowed
    assert not source.current.policy.check_connect(f"10.200.{(more - 1) // 250}."
                                                  f"{(more - 1) % 250 + 1}").allowed
    result = add(cl, "10.0.1.30")
    assert result.returncode == 0, result.stderr
    assert "TCP2675 Record 10.0.1.2 " in result.stderr, result.stderr
    assert lines(qroot) == ["10.0.1.1 255.255.255.255", "10.0.1.30 255.255.255.255"]
