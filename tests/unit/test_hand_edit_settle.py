"""A member changed by hand is read only once it is finished (store.settle, policyload).

An editor, ``cp`` or ``cat > member`` truncates the member and writes it again in place:
for a while it is empty or half-written. A server job leaves such a member alone while a
process has it open for writing (or, where that cannot be told, while its last change
is recent), keeps what it had (what the commands changed included), says so once per
state of the member (TCP2676), and reads it as soon as it is finished. A member that
changes while it is read is read again. The commands' own changes, which never leave a
member half-written, are applied as ever.

Each state is made by the test (a file held open, half written), then looked at: no
timing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import new_library

from qtsmtp.config import attributes, entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.address import canonical_recipient
from qtsmtp.config.lists import ListMember, member_file
from qtsmtp.config.policyload import PolicySource, compile_policy
from qtsmtp.config.users import users_member
from qtsmtp.store import journal, settle

T = lt.LIST_TYPES
FAR = canonical_recipient("user@far.example")


@pytest.fixture
def root(tmp_path) -> Path:
    new_library(tmp_path)
    for name in ("ACCEPTRLY", "REJECTCNN"):
        path = tmp_path / "QUSRSYS" / "QATMADRLST" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    return tmp_path


def path_of(root: Path, list_type: str) -> Path:
    return member_file(root, T[list_type]).path


def add(root: Path, list_type: str, address: str) -> None:
    """What ADDSMTPLE does: an append under the lock, journaled."""
    with ListMember(root, T[list_type]) as member:
        member.add(entries.ip4_entry(T[list_type], address, "255.255.255.255"))


def relays(source: PolicySource, client: str) -> bool:
    return source.current.policy.check_recipient(client, FAR).allowed


def refused(source: PolicySource, client: str) -> bool:
    return not source.current.policy.check_connect(client).allowed


def notes(source: PolicySource) -> list[tuple]:
    found = [(n.id, n.data[0]) for n in source.notes]
    source.notes.clear()
    return found


def same_as_fresh(source: PolicySource) -> None:
    fresh = compile_policy(source.root, source.default_system_name, source.local_addresses)
    assert source.current.summary() == fresh.summary()


# --- the probe ------------------------------------------------------------------------

def test_the_probe_tells_a_member_open_for_writing(tmp_path) -> None:
    path = tmp_path / "member"
    path.write_text("10.0.0.1 255.255.255.255\n")
    assert settle.open_for_writing(path) is False
    assert settle.unfinished(path) is None
    with open(path, "a"):
        assert settle.open_for_writing(path) is True
        assert settle.unfinished(path) == "a program has it open for writing"
    with open(path):                               # a reader is no writer
        assert settle.open_for_writing(path) is False
    assert settle.open_for_writing(tmp_path / "none") is False


def test_where_the_probe_cannot_tell_a_recent_change_waits(tmp_path, monkeypatch) -> None:
    path = tmp_path / "member"
    path.write_text("10.0.0.1 255.255.255.255\n")
    monkeypatch.setattr(settle, "open_for_writing", lambda path: None)
    changed = settle.fingerprint(path)[3] / 1e9
    assert settle.unfinished(path, now=changed) == "it changed less than 2 seconds ago"
    assert settle.unfinished(path, now=changed + settle.SETTLE_SECONDS - 0.1) is not None
    assert settle.unfinished(path, now=changed + settle.SETTLE_SECONDS) is None
    # A clock set back far behind the change is not waited for.
    assert settle.unfinished(path, now=changed - 3600) is None


def test_the_probe_leaves_a_member_as_it_was(tmp_path) -> None:
    path = tmp_path / "member"
    path.write_text("10.0.0.1 255.255.255.255\n")
    before = settle.fingerprint(path)
    for _ in range(3):
        settle.open_for_writing(path)
    assert settle.fingerprint(path) == before


# --- a server job's policy ------------------------------------------------------------

def test_a_member_being_rewritten_in_place_is_read_only_once_finished(root) -> None:
    path = path_of(root, "*ACCEPT")
    path.write_text("10.0.0.1 255.255.255.255\n10.0.0.2 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    before = source.current
    with open(path, "w") as f:                     # what `cat new > ACCEPTRLY` opens
        f.flush()
        assert source.needs_reload() and source.reload() is None
        assert source.current is before and source.failure is None
        assert notes(source) == [("TCP2676", "ACCEPTRLY")]
        assert relays(source, "10.0.0.2")         # not "no entries: refused for all"
        f.write("10.0.0.9 255.255.255.255\n")     # the first half
        f.flush()
        assert source.reload() is None and source.current is before
        assert notes(source) == [("TCP2676", "ACCEPTRLY")]   # a new state: said again
        assert source.reload() is None and notes(source) == []   # said once a state
        f.write("10.0.0.2 255.255.255.255\n")     # the rest
    assert source.needs_reload() and source.reload() is None
    assert notes(source) == [("TCP3023", "ACCEPTRLY")]
    assert relays(source, "10.0.0.9") and relays(source, "10.0.0.2")
    assert not relays(source, "10.0.0.1")
    same_as_fresh(source)
    assert not source.needs_reload()


def test_a_reject_list_being_rewritten_still_refuses(root) -> None:
    path = path_of(root, "*REJECT")
    path.write_text("192.0.2.7 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    with open(path, "w") as f:
        assert source.reload() is None
        assert refused(source, "192.0.2.7")        # not "nothing refused"
        f.write("192.0.2.8 255.255.255.255\n")
        f.flush()
        assert source.reload() is None
        assert refused(source, "192.0.2.7") and not refused(source, "192.0.2.8")
        f.write("192.0.2.7 255.255.255.255\n")
    assert source.reload() is None
    assert refused(source, "192.0.2.7") and refused(source, "192.0.2.8")


def test_an_append_in_progress_is_not_read_either(root) -> None:
    path = path_of(root, "*ACCEPT")
    path.write_text("10.0.0.1 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    with open(path, "a") as f:
        f.write("10.0.0.0 255.255")               # a record without the rest of it
        f.flush()
        # Not read: no TCP2670 for a record that is not finished, no entry made of it.
        assert source.reload() is None and source.failure is None
        assert not relays(source, "10.0.5.5") and notes(source) == [("TCP2676", "ACCEPTRLY")]
        f.write(".0.0\n")
    assert source.reload() is None
    assert relays(source, "10.0.0.1") and relays(source, "10.0.5.5")
    same_as_fresh(source)


def test_a_command_is_applied_while_another_member_is_written_by_hand(root) -> None:
    accept = path_of(root, "*ACCEPT")
    accept.write_text("10.0.0.1 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    with open(accept, "w") as f:
        f.write("10.0.0.7 255.255.255.255\n")
        f.flush()
        add(root, "*REJECT", "198.51.100.1")
        assert source.reload() is None
        assert source.current.generation == 1 and source.failure is None
        assert refused(source, "198.51.100.1")     # the command's change, in use
        assert relays(source, "10.0.0.1") and not relays(source, "10.0.0.7")
        f.write("10.0.0.1 255.255.255.255\n")
    assert source.reload() is None
    assert relays(source, "10.0.0.7") and refused(source, "198.51.100.1")
    same_as_fresh(source)


def test_chgsmtpa_is_applied_while_a_member_is_written_by_hand(root) -> None:
    """CHGSMTPA changes no list: it is applied as a list's record is (ALWRLY, SYSNAME,
    ALIASDMN on the policy in use), not held back until an unrelated hand edit is
    finished (which let a tightened ALWRLY relay on for as long as the editor ran)."""
    accept = path_of(root, "*ACCEPT")
    accept.write_text("10.0.0.1 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    config = attributes.attributes_member(root)
    with open(accept, "w") as f:
        with config.locked():
            config.replace(config.read_text().replace('ALWRLY = "*LIST"', 'ALWRLY = "*NONE"'),
                           journal.REPLACE, changes={"ALWRLY": "*NONE"})
        assert source.reload() is None and source.failure is None
        assert source.current.policy.alwrly == "*NONE" and source.current.generation == 1
        assert source.current.attributes["ALWRLY"] == "*NONE"
        assert not relays(source, "10.0.0.1")
        assert notes(source) == [("TCP2676", "ACCEPTRLY")]
        f.write("10.0.0.7 255.255.255.255\n")
    assert source.reload() is None and source.failure is None
    same_as_fresh(source)


def test_a_user_directory_change_is_applied_while_a_member_is_written_by_hand(root) -> None:
    """ADDUSRSMTP's change is applied as a list's record is (before: a full compile,
    which waited for the hand edit, and every command after it waited too)."""
    accept = path_of(root, "*ACCEPT")
    accept.write_text("10.0.0.1 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    users = users_member(root)
    bob = canonical_recipient("bob@mail.test")
    assert not source.current.policy.check_recipient("192.0.2.1", bob).allowed
    with open(accept, "w") as f:
        with users.locked():
            users.replace("BOB\tbob\t*DFT\n")
        assert source.reload() is None and source.failure is None
        assert source.current.generation == 1
        assert source.current.policy.check_recipient("192.0.2.1", bob).allowed
        add(root, "*REJECT", "198.51.100.1")          # and a command after it
        assert source.reload() is None and source.failure is None
        assert source.current.generation == 2 and refused(source, "198.51.100.1")
        assert relays(source, "10.0.0.1")               # the half-written list not read
        f.write("10.0.0.7 255.255.255.255\n")
    assert source.reload() is None and source.failure is None
    assert relays(source, "10.0.0.7") and not relays(source, "10.0.0.1")
    same_as_fresh(source)


def test_a_change_the_journal_cannot_follow_waits_and_is_not_lost(root, monkeypatch) -> None:
    """With a journal the job may not read, a command's change needs a full compile;
    with a member half-written by hand it waits (the command hears why: failure is
    TCP2676), and is in the policy after."""
    accept = path_of(root, "*ACCEPT")
    accept.write_text("10.0.0.1 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))

    def denied(self, *args):
        raise PermissionError(13, "Permission denied", str(self.path))

    with open(accept, "w") as f:
        add(root, "*REJECT", "198.51.100.1")
        monkeypatch.setattr(journal.JournalReader, "read_new", denied)
        assert source.reload() is None
        assert source.failure is not None and source.failure.escape.id == "TCP2676"
        assert not refused(source, "198.51.100.1")
        assert source.needs_reload()                # looked at again, not given up
        f.write("10.0.0.1 255.255.255.255\n")
    assert source.reload() is None and source.failure is None
    assert refused(source, "198.51.100.1") and relays(source, "10.0.0.1")
    same_as_fresh(source)


def test_a_member_that_changes_while_it_is_read_is_read_again(root, monkeypatch) -> None:
    accept = path_of(root, "*ACCEPT")
    accept.write_text("10.0.0.1 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    before = source.current
    accept.write_text("10.0.0.2 255.255.255.255\n")
    compile_once = source.compile

    def compile_then_rewrite():
        compiled = compile_once()
        accept.write_text("10.0.0.3 255.255.255.255\n")   # rewritten as it was read
        return compiled

    monkeypatch.setattr(source, "compile", compile_then_rewrite)
    assert source.reload() is None and source.current is before
    assert [n.data[3] for n in source.notes if n.id == "TCP2676"] == [
        "it changed while it was read"]
    monkeypatch.setattr(source, "compile", compile_once)
    assert source.reload() is None
    assert relays(source, "10.0.0.3") and not relays(source, "10.0.0.2")


@pytest.mark.parametrize("touched", ["*ACCEPT", "*REJECT"])
def test_a_member_only_touched_while_it_is_read_is_taken(root, monkeypatch, touched) -> None:
    """A script that touches a list (its times changed, not a byte of it) while the job
    reads the members: the list still holds what was read, so the read stands. Before,
    it was read again at every look, and never taken while the script went on faster
    than a large list is read; the start was refused (TCP2677)."""
    from qtsmtp.config import policyload
    accept, reject = path_of(root, "*ACCEPT"), path_of(root, "*REJECT")
    accept.write_text("10.0.0.1 255.255.255.255\n")
    reject.write_text("192.0.2.7 255.255.255.255\n")
    compile_policy = policyload.compile_policy
    moments = iter(range(1, 1000))

    def compile_then_touch(*args, **kwargs):
        compiled = compile_policy(*args, **kwargs)
        stamp = (1_700_000_000 + next(moments)) * 10 ** 9
        os.utime(path_of(root, touched), ns=(stamp, stamp))
        return compiled

    monkeypatch.setattr(policyload, "compile_policy", compile_then_touch)
    monkeypatch.setattr(policyload, "START_WAIT_SECONDS", 0)     # one look, no wait
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    assert relays(source, "10.0.0.1") and refused(source, "192.0.2.7")
    accept.write_text("10.0.0.2 255.255.255.255\n")             # a finished hand edit
    assert source.reload() is None and source.failure is None
    assert relays(source, "10.0.0.2") and not relays(source, "10.0.0.1")
    assert refused(source, "192.0.2.7")
    assert not [n for n in source.notes if n.id == "TCP2676"], [str(n) for n in source.notes]
    same_as_fresh(source)


def test_a_list_rewritten_while_it_is_read_is_still_read_again(root, monkeypatch) -> None:
    """The same bytes back, but written in place while the job read it: what was read
    (the truncated member) is not what it holds, so the read does not stand."""
    from qtsmtp.config import policyload
    reject = path_of(root, "*REJECT")
    reject.write_text("192.0.2.7 255.255.255.255\n")
    compile_policy = policyload.compile_policy
    seen = []

    def truncated_while_read(*args, **kwargs):
        if not seen:
            with open(reject, "w"):
                seen.append(compile_policy(*args, **kwargs))      # reads it empty
            reject.write_text("192.0.2.7 255.255.255.255\n")     # and it is back
            return seen[0]
        return compile_policy(*args, **kwargs)

    monkeypatch.setattr(policyload, "compile_policy", truncated_while_read)
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    assert refused(source, "192.0.2.7")


def test_a_member_an_editor_opens_just_before_the_read_is_not_read(root, monkeypatch) -> None:
    """A finished hand edit of ACCEPTRLY is to be read; just after the job took the stat
    keys, an editor truncates REJECTCNN and goes on writing: the job does not read the
    members then (REJECTCNN would be empty), nor while the editor writes."""
    from qtsmtp.config import policyload
    accept, reject = path_of(root, "*ACCEPT"), path_of(root, "*REJECT")
    reject.write_text("192.0.2.7 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    accept.write_text("10.0.0.5 255.255.255.255\n")
    editor = []
    stat_keys = policyload.stat_keys

    def keys_then_an_editor(members):
        keys = stat_keys(members)
        if not editor:
            editor.append(open(reject, "w"))    # noqa: SIM115 (the editor, closed below)
        return keys

    monkeypatch.setattr(policyload, "stat_keys", keys_then_an_editor)
    assert source.reload() is None and source.failure is None
    assert refused(source, "192.0.2.7")
    assert source.reload() is None and refused(source, "192.0.2.7")   # still written
    assert ("TCP2676", "REJECTCNN") in notes(source)
    editor[0].write("192.0.2.7 255.255.255.255\n198.51.100.1 255.255.255.255\n")
    editor[0].close()
    assert source.reload() is None
    assert refused(source, "192.0.2.7") and refused(source, "198.51.100.1")
    assert relays(source, "10.0.0.5")
    same_as_fresh(source)


def test_a_hand_rewrite_after_a_command_does_not_pass_for_an_append(root) -> None:
    """Compiled from an empty member, then a command adds an entry (the journal); a
    rewrite by hand that drops that entry is the list: the entry is gone."""
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    add(root, "*ACCEPT", "10.0.0.1")
    assert source.reload() is None and relays(source, "10.0.0.1")
    path_of(root, "*ACCEPT").write_text("10.0.0.2 255.255.255.255\n")   # in place
    assert source.reload() is None
    assert not relays(source, "10.0.0.1") and relays(source, "10.0.0.2")
    same_as_fresh(source)


# --- the other members a server job reads -----------------------------------------------

class Log:
    def __init__(self):
        self.sent: list[tuple] = []

    def send(self, msgid: str, *data) -> None:
        self.sent.append((msgid, *data))

    def ids(self) -> list[tuple]:
        found = [(entry[0], entry[1]) for entry in self.sent]
        self.sent.clear()
        return found


def test_a_filter_list_being_rewritten_keeps_the_rules_in_use(root) -> None:
    import types

    from qtsmtp.server.filtering import MessageFilters
    path = path_of(root, "*FTRSUBJECT")
    path.write_text("viagra\nlottery\n")
    log = Log()
    filters = MessageFilters(root, log)
    compiled = types.SimpleNamespace(attributes={"FTRACN": "*REFUSE"})
    assert filters.check(compiled).rules.count() == 2 and log.ids() == [("TCP7006", 2)]
    with open(path, "w") as f:                    # truncated by `cat > FTRSUBJECT`
        f.write("viagra\n")
        f.flush()
        compiled = types.SimpleNamespace(attributes={"FTRACN": "*REFUSE"})   # a reload
        assert filters.check(compiled).rules.count() == 2       # not "lottery" let through
        assert log.ids() == [("TCP2676", "FTRSUBJECT")]
        f.write("lottery\ncasino\n")
    compiled = types.SimpleNamespace(attributes={"FTRACN": "*REFUSE"})
    assert filters.check(compiled).rules.count() == 3 and log.ids() == [("TCP7006", 3)]


def test_an_exit_registration_being_rewritten_keeps_the_chain_in_use(root) -> None:
    from qtsmtp.config.exitreg import ExitRegistration, exit_member, registry_text
    from qtsmtp.server.exits import NOT_FINISHED, ExitSource
    programs = [ExitRegistration("QIBM_QTMS_SMTP_EXIT", "SMTP0100", n, f"site.m{n}:check",
                                 2000, "*REJECT", "") for n in (1, 2)]
    path = exit_member(root).path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(registry_text(programs))
    log = Log()
    exits = ExitSource(root, log)
    assert [e.registration.number for e in exits.current.exits] == [1, 2]
    log.ids()
    text = registry_text(programs)
    with open(path, "w") as f:
        half = text.rindex("\n", 0, text.index("site.m2")) + 1
        f.write(text[:half])                      # program 2's line not written yet
        f.flush()
        assert not exits.needs_reload()
        assert log.ids() == [("TCP2676", exit_member(root).member)]
        assert exits.reload() == NOT_FINISHED     # asked all the same: not read
        assert log.ids() == []                    # said once for this state
        assert [e.registration.number for e in exits.current.exits] == [1, 2]
        f.write(text[half:].replace("site.m2", "site.m3"))
    assert exits.needs_reload() and exits.reload() is None
    assert [e.registration.program for e in exits.current.exits] == ["site.m1:check",
                                                                      "site.m3:check"]


def test_a_credentials_member_being_rewritten_keeps_the_users(root) -> None:
    from qtsmtp.config.credentials import CredentialStore, credentials_member
    path = credentials_member(root).path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("alice\tscrypt$x\nbob\tscrypt$y\n")
    store = CredentialStore(root)
    assert sorted(store.users()) == ["alice", "bob"]
    with open(path, "w") as f:
        assert sorted(store.users()) == ["alice", "bob"]      # not "no users: no AUTH"
        f.write("alice\tscrypt$x\n")
        f.flush()
        assert sorted(store.users()) == ["alice", "bob"]
        f.write("carol\tscrypt$z\n")
    assert sorted(store.users()) == ["alice", "carol"]


# --- the server's start -----------------------------------------------------------------

def test_the_start_waits_for_a_member_being_written(root, monkeypatch) -> None:
    from qtsmtp.config import policyload
    accept = path_of(root, "*ACCEPT")
    writer = open(accept, "w")      # noqa: SIM115 (closed by the pause below, as an editor)
    writer.write("10.0.0.9 255.255.255.255\n")      # the first half
    writer.flush()
    told = []

    def pause(seconds: float) -> None:               # the editor finishes while we wait
        if not writer.closed:
            writer.write("10.0.0.2 255.255.255.255\n")
            writer.close()

    monkeypatch.setattr(policyload.time, "sleep", pause)
    members = policyload.watched_members(root)
    policyload.wait_for_hand_edits(members, policyload.time.monotonic() + 3600, told.append)
    assert [(m.id, m.data[0]) for m in told] == [("TCP2678", "ACCEPTRLY")]
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    assert relays(source, "10.0.0.9") and relays(source, "10.0.0.2")


def test_the_start_is_refused_while_a_member_is_still_written(root, monkeypatch) -> None:
    from qtsmtp.config import policyload
    from qtsmtp.messages import CLError
    monkeypatch.setattr(policyload, "START_WAIT_SECONDS", 0)
    with open(path_of(root, "*REJECT"), "w"), pytest.raises(CLError) as refused:
        PolicySource(root, "mail.test", ("127.0.0.1",))
    assert refused.value.escape.id == "TCP2677"
    assert refused.value.escape.data[:2] == ("REJECTCNN", "QATMADRLST")
    assert "open for writing" in refused.value.escape.data[3]
    PolicySource(root, "mail.test", ("127.0.0.1",))   # finished: it starts


def test_the_client_job_keeps_its_routing_while_a_list_is_written(root) -> None:
    """The delivery job's lists (*NEAR, *HOSTAUTH...) too: a half-written *NEAR list is
    not taken for the whole one."""
    from qtsmtp.delivery.engine import DeliveryEngine
    near = path_of(root, "*NEAR")
    near.write_text("a.example\nb.example\n")
    log = Log()
    engine = DeliveryEngine(root, log)
    engine.load_configuration()
    routing = engine.routing
    assert routing.near.match("b.example") is not None
    with open(near, "w") as f:
        f.write("a.example\n")
        f.flush()
        engine.load_configuration()
        assert engine.routing is routing and log.ids() == [("TCP2676", "NEAR")]
        engine.load_configuration()
        assert engine.routing is routing and log.ids() == []     # said once a state
        f.write("b.example\nc.example\n")
    engine.load_configuration()
    assert engine.routing is not routing
    assert all(engine.routing.near.match(d) is not None
               for d in ("a.example", "b.example", "c.example"))
