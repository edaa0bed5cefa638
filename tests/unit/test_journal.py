"""The change journal (store.journal) and a server job following it (policyload).

Writing: every member change gets the next generation, before the member is written,
with what it changed; the journal stays small; its files are 0600. Reading: a job
applies the records (additions and removals of every kind of entry, never a full
compile) and its decisions are those of a fresh compile of the members; anything the
records do not explain (a hand edit, a writer killed between record and member, a cut
journal, CHGSMTPA) compiles everything.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from qtsmtp.config import attributes, entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.address import canonical_recipient
from qtsmtp.config.lists import ListMember, member_file
from qtsmtp.config.policyload import PolicySource, compile_policy
from qtsmtp.store import journal
from qtsmtp.store.journal import Behind, JournalReader
from qtsmtp.store.member import group_commit
from support import new_library

T = lt.LIST_TYPES
FAR = canonical_recipient("user@far.example")
CLIENTS = ["10.0.0.1", "10.0.0.2", "10.1.2.3", "10.9.9.9", "192.0.2.7", "198.51.100.1",
           "2001:db8::1", "2001:db8:1::5", "2001:db8:ffff::1", "127.0.0.1"]
RECIPIENTS = ["user@far.example", "u@corp.example", "u@x.corp.example", "u@near.example",
              "u@a.near.example", "u@both.example", "u@sub.both.example"]


@pytest.fixture
def root(tmp_path) -> Path:
    new_library(tmp_path)
    config = tmp_path / "QUSRSYS" / "QATMSMTP" / "CONFIG"
    config.write_text(config.read_text().replace('ALWRLY = "*LIST"', 'ALWRLY = "*BOTH"'))
    for name in ("ACCEPTRLY", "REJECTCNN", "ACCEPTIP6", "NEAR", "DOMAIN", "DOMAINIP6"):
        path = tmp_path / "QUSRSYS" / "QATMADRLST" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    return tmp_path


def library(root: Path) -> Path:
    return root / "QUSRSYS"


def lines(root: Path) -> list[dict]:
    return [json.loads(line) for line in journal.journal_path(library(root)).read_bytes().splitlines()]


def add(root: Path, list_type: str, entry) -> None:
    with ListMember(root, T[list_type]) as member:
        member.add(entry)


def remove(root: Path, list_type: str, entry) -> None:
    with ListMember(root, T[list_type]) as member:
        member.remove(entry)


def ip4(list_type: str, address: str, mask: str = "255.255.255.255"):
    return entries.ip4_entry(T[list_type], address, mask)


def ip6(list_type: str, address: str, prefix: int = 128):
    return entries.ip6_entry(T[list_type], address, prefix)


def domain(list_type: str, name: str):
    return entries.domain_entry(T[list_type], name)


def decisions(compiled) -> list[str]:
    policy = compiled.policy
    out = [policy.check_connect(c).explain() for c in CLIENTS]
    out += [policy.check_recipient(c, canonical_recipient(r)).explain()
            for c in CLIENTS for r in RECIPIENTS]
    return out


def follow(source: PolicySource) -> None:
    """A reload that must come from the journal: a full compile fails the test."""
    assert source.needs_reload()
    assert source.reload() is None
    assert not source.notes, [str(n) for n in source.notes]
    fresh = compile_policy(source.root, source.default_system_name, source.local_addresses)
    assert decisions(source.current) == decisions(fresh)
    assert source.current.summary() == fresh.summary()
    assert source.current.keys == fresh.keys           # nothing left for the stat check
    assert not source.needs_reload()


# --- writing ------------------------------------------------------------------------

def test_every_change_is_journaled_in_order_before_its_member_is_written(root) -> None:
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1"))
    accept = member_file(root, T["*ACCEPT"])
    key_after_add = accept.stat_key()
    remove(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1"))
    member = attributes.attributes_member(root)
    with member.locked():
        member.replace(member.read_text(), journal.REPLACE, changes={"ALWRLY": "*LIST"})
    start, added, removed, changed = lines(root)
    assert start["op"] == "start" and start["gen"] == 0 and start["journal"]
    assert [r["gen"] for r in (added, removed, changed)] == [1, 2, 3]
    assert (added["member"], added["op"], added["records"]) == (
        "ACCEPTRLY", "add", ["10.0.0.1 255.255.255.255"])
    assert added["after"] == list(key_after_add[:2])
    assert added["before"][1] == 0
    assert (removed["op"], removed["records"]) == ("remove", ["10.0.0.1 255.255.255.255"])
    assert removed["before"] == list(key_after_add) and removed["after"][1] == 0
    assert removed["after"][0] == accept.stat_key()[0]       # the renamed new member
    assert (changed["file"], changed["op"], changed["changes"]) == (
        "QATMSMTP", "replace", {"ALWRLY": "*LIST"})
    assert journal.last_written(library(root)) == (start["journal"], 3)


def test_journal_files_are_private_whatever_the_umask(root) -> None:
    old = os.umask(0)
    try:
        add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1"))
    finally:
        os.umask(old)
    for name in (journal.JOURNAL, journal.JOURNAL_LOCK):
        assert stat.S_IMODE((library(root) / name).stat().st_mode) == 0o600, name


def test_credentials_are_not_copied_into_the_journal(root) -> None:
    add(root, "*HOSTAUTH", entries.credential_entry(T["*HOSTAUTH"], "mx.example", "u", "s3cret"))
    record = lines(root)[-1]
    assert record["member"] == "HOSTAUTH" and "records" not in record
    assert b"s3cret" not in journal.journal_path(library(root)).read_bytes()


def test_a_group_commit_journals_every_change_and_confirms_once_per_flush(root) -> None:
    calls = []
    with group_commit() as group:
        for n in range(5):
            add(root, "*ACCEPT", ip4("*ACCEPT", f"10.0.0.{n + 1}"))
            group.after_sync("confirm", lambda: calls.append(journal.last_written(library(root))) or [])
        assert [r["gen"] for r in lines(root)[1:]] == [1, 2, 3, 4, 5]   # readable at once
        assert calls == []
        assert group.flush() == []
        assert [gen for _, gen in calls] == [5]
        add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.9"))
    assert [gen for _, gen in calls] == [5]          # nothing asked after the last change


def test_the_journal_is_cut_back_and_a_reader_that_kept_up_goes_on(root, monkeypatch) -> None:
    monkeypatch.setattr(journal, "MAX_BYTES", 4096)
    monkeypatch.setattr(journal, "KEEP_BYTES", 2048)      # a dozen records
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    behind = JournalReader(library(root))
    with behind.shared(1):
        behind.skip_to_end()
    monkeypatch.setattr(PolicySource, "compile", lambda self: pytest.fail("a full compile"))
    for n in range(120):
        add(root, "*ACCEPT", ip4("*ACCEPT", f"10.1.{n // 200}.{n % 200}"))
        if n % 4 == 3:
            follow(source)
        assert journal.journal_path(library(root)).stat().st_size <= 4096 + 512
    assert source.current.generation == 120
    first = lines(root)[0]
    assert first["op"] == "start" and first["gen"] > 0
    with pytest.raises(Behind), behind.shared(1):
        behind.read_new()                     # cut past it: it must compile


def test_a_torn_last_line_is_closed_and_numbering_goes_on(root) -> None:
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1"))
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    with open(journal.journal_path(library(root)), "ab") as f:
        f.write(b'{"gen":2,"file":"QATMADRLST","memb')        # a writer killed mid-write
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.2"))
    raw = journal.journal_path(library(root)).read_bytes().splitlines()
    assert json.loads(raw[-1])["gen"] == 2 and raw[-2].endswith(b'"memb')
    assert source.needs_reload() and source.reload() is None
    assert [n.id for n in source.notes] == ["TCP3024"]     # compiled from the members
    assert source.current.policy.check_recipient("10.0.0.2", FAR).allowed
    source.notes.clear()
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.3"))       # and followed again after it
    follow(source)


def test_a_journal_made_again_is_another_journal(root) -> None:
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1"))
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    old_id = source.current.journal
    journal.journal_path(library(root)).unlink()
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.2"))
    assert source.reload() is None
    assert [n.id for n in source.notes] == ["TCP3024"]
    assert source.current.journal not in ("", old_id) and source.current.generation == 1
    assert source.current.policy.check_recipient("10.0.0.2", FAR).allowed


# --- a server job following the journal ------------------------------------------------

def test_additions_and_removals_of_every_kind_are_applied_without_a_compile(root, monkeypatch) -> None:
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    monkeypatch.setattr(PolicySource, "compile", lambda self: pytest.fail("a full compile"))
    steps = [
        (add, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1")),
        (add, "*ACCEPT", ip4("*ACCEPT", "10.1.0.0", "255.255.0.0")),       # /16
        (add, "*ACCEPT", ip4("*ACCEPT", "10.0.0.0", "255.0.0.0")),         # /8
        (add, "*REJECT", ip4("*REJECT", "198.51.100.0", "255.255.255.0")),
        (add, "*ACCEPTIP6", ip6("*ACCEPTIP6", "2001:db8::", 32)),
        (add, "*ACCEPTIP6", ip6("*ACCEPTIP6", "2001:db8:1::5")),
        (add, "*NEAR", domain("*NEAR", ".near.example")),
        (add, "*NEAR", ip4("*NEAR", "192.0.2.0", "255.255.255.0")),
        (add, "*DOMAIN", domain("*DOMAIN", "corp.example")),
        (add, "*DOMAIN", domain("*DOMAIN", ".both.example")),
        (add, "*DOMAINIP6", domain("*DOMAINIP6", ".both.example")),         # in both lists
        (remove, "*ACCEPT", ip4("*ACCEPT", "10.0.0.0", "255.0.0.0")),
        (remove, "*ACCEPT", ip4("*ACCEPT", "10.1.0.0", "255.255.0.0")),
        (remove, "*REJECT", ip4("*REJECT", "198.51.100.0", "255.255.255.0")),
        (remove, "*ACCEPTIP6", ip6("*ACCEPTIP6", "2001:db8::", 32)),
        (remove, "*NEAR", domain("*NEAR", ".near.example")),
        (remove, "*NEAR", ip4("*NEAR", "192.0.2.0", "255.255.255.0")),
        (remove, "*DOMAIN", domain("*DOMAIN", ".both.example")),           # DOMAINIP6 keeps it
        (remove, "*DOMAIN", domain("*DOMAIN", "corp.example")),
    ]
    for change, list_type, entry in steps:
        change(root, list_type, entry)
        follow(source)
    allowed = source.current.policy.check_recipient("10.9.9.9", canonical_recipient("postmaster@x.both.example"))
    assert allowed.allowed and allowed.list_name == "*DOMAINIP6"
    # Several records at once, one entry added and taken out again among them.
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.9.9.9"))
    add(root, "*REJECTIP6", ip6("*REJECTIP6", "2001:db8:ffff::", 48))
    remove(root, "*ACCEPT", ip4("*ACCEPT", "10.9.9.9"))
    follow(source)


def test_a_copy_with_one_change_shares_all_but_the_changed_length(root) -> None:
    for n in range(300):
        add(root, "*ACCEPT", ip4("*ACCEPT", f"10.2.{n // 250}.{n % 250}"))
        add(root, "*ACCEPT", ip4("*ACCEPT", f"10.{4 + n // 250}.{n % 250}.0", "255.255.255.0"))
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    old = source.current.policy
    before = dict(old._accept4._by_prefix)
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.3.0.1"))
    follow(source)
    after = source.current.policy._accept4._by_prefix
    assert after[24] is before[24]                 # not copied: not changed
    assert after[32] is not before[32] and len(after[32]) == len(before[32]) + 1
    assert old._accept4._by_prefix[32] is before[32]   # the old policy as it was
    assert not old.check_recipient("10.3.0.1", FAR).allowed
    assert source.current.policy.check_recipient("10.3.0.1", FAR).allowed
    assert source.current.policy._reject4 is old._reject4


def test_a_hand_edit_before_a_command_is_not_missed(root) -> None:
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1"))
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    path = member_file(root, T["*ACCEPT"]).path
    path.write_text("10.0.0.2 255.255.255.255\n")           # by hand, no record
    add(root, "*ACCEPT", ip4("*ACCEPT", "192.0.2.7"))
    assert source.reload() is None
    assert [n.id for n in source.notes] == ["TCP3024"]
    fresh = compile_policy(root, "mail.test", ("127.0.0.1",))
    assert decisions(source.current) == decisions(fresh)
    assert not source.current.policy.check_recipient("10.0.0.1", FAR).allowed


def test_a_hand_edit_alone_is_seen_by_the_stat_check_and_named(root) -> None:
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    with open(member_file(root, T["*REJECT"]).path, "a") as f:
        f.write("10.0.0.1 255.255.255.255\n")
    assert source.needs_reload() and source.reload() is None
    assert [(n.id, n.data[0]) for n in source.notes] == [("TCP3023", "REJECTCNN")]
    assert not source.current.policy.check_connect("10.0.0.1").allowed


def test_a_writer_killed_between_record_and_member_write_compiles(root) -> None:
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    accept = member_file(root, T["*ACCEPT"])
    with pytest.raises(KeyboardInterrupt), accept.locked():
        with journal.change(library(root), accept.file, accept.member, journal.ADD,
                            accept.stat_key(), (accept.stat_key()[0], 25),
                            records=["10.0.0.1 255.255.255.255"]):
            raise KeyboardInterrupt            # the member is never written
    assert source.reload() is None
    assert [n.id for n in source.notes] == ["TCP3024"]
    assert not source.current.policy.check_recipient("10.0.0.1", FAR).allowed
    source.notes.clear()
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.2"))   # and the next change applies again
    follow(source)


def test_chgsmtpa_compiles_everything(root) -> None:
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    member = attributes.attributes_member(root)
    with member.locked():
        member.replace(member.read_text().replace('ALWRLY = "*BOTH"', 'ALWRLY = "*NONE"'),
                       journal.REPLACE, changes={"ALWRLY": "*NONE"})
    assert source.reload() is None
    assert source.current.policy.alwrly == "*NONE"
    assert source.current.generation == 1
    # An ordinary step: the job log says the policy was reloaded, nothing more (TCP3024
    # after every CHGSMTPA read as if the journal had failed).
    assert not source.notes, [str(n) for n in source.notes]


def test_chgsmtpa_of_the_names_is_applied_as_a_compile_would(root) -> None:
    """SYSNAME and ALIASDMN, applied to the policy in use (no list read again), decide
    as a policy compiled from the members does."""
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1"))
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    member = attributes.attributes_member(root)
    default = ('SYSNAME = "*DFT"', 'ALIASDMN = "*NONE"')
    named = ('SYSNAME = "relay.test"', 'ALIASDMN = [[1, "alias.test"]]')
    for was, now in [(default, named), (named, default)]:
        with member.locked():
            text = member.read_text()
            for old, new in zip(was, now):
                assert old in text
                text = text.replace(old, new)
            member.replace(text, journal.REPLACE, changes={"SYSNAME": now[0]})
        follow(source)
        fresh = compile_policy(root, "mail.test", ("127.0.0.1",))
        for client in ("10.0.0.1", "10.9.9.9"):
            for to in ("a@relay.test", "a@alias.test", "a@mail.test", "a@far.example"):
                assert source.current.policy.check_recipient(
                    client, canonical_recipient(to)).explain() == \
                    fresh.policy.check_recipient(client, canonical_recipient(to)).explain()
        assert source.current.system_name == fresh.system_name


def test_chgsmtpa_after_a_hand_edit_still_notes_the_journal_does_not_explain(root) -> None:
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1"))
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    member_file(root, T["*ACCEPT"]).path.write_text("10.0.0.2 255.255.255.255\n")   # by hand
    add(root, "*ACCEPT", ip4("*ACCEPT", "192.0.2.7"))
    member = attributes.attributes_member(root)
    with member.locked():
        member.replace(member.read_text(), journal.REPLACE, changes={"MAXRCPT": 500})
    assert source.reload() is None
    assert [n.id for n in source.notes] == ["TCP3024"]
    fresh = compile_policy(root, "mail.test", ("127.0.0.1",))
    assert decisions(source.current) == decisions(fresh)


def test_a_member_broken_by_hand_does_not_hold_back_what_the_commands_change(root) -> None:
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    with open(member_file(root, T["*ACCEPT"]).path, "a") as f:
        f.write("not an address\n")                    # by hand: does not parse
    add(root, "*REJECT", ip4("*REJECT", "198.51.100.1"))
    error = source.reload()
    assert error is not None and error.escape.id == "TCP2670"
    assert source.current.generation == 1                 # the command's change is in use
    assert not source.current.policy.check_connect("198.51.100.1").allowed
    assert not source.needs_reload()                      # the error is reported once
    # CHGSMTPA is applied as the lists' records are: the broken member holds it back
    # no more than it holds back ADDSMTPLE, and is still reported.
    member = attributes.attributes_member(root)
    with member.locked():
        member.replace(member.read_text().replace('ALWRLY = "*BOTH"', 'ALWRLY = "*NONE"'),
                       journal.REPLACE, changes={"ALWRLY": "*NONE"})
    assert source.reload() is not None and source.failure is not None
    assert source.current.generation == 2
    assert source.current.attributes["ALWRLY"] == "*NONE"
    assert source.current.policy.alwrly == "*NONE"
    assert not source.current.policy.check_connect("198.51.100.1").allowed


def test_a_journal_that_cannot_be_read_leaves_the_members_in_charge(root, monkeypatch) -> None:
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    add(root, "*ACCEPT", ip4("*ACCEPT", "10.0.0.1"))

    def denied(self, *args):
        raise PermissionError(13, "Permission denied", str(self.path))

    monkeypatch.setattr(JournalReader, "read_new", denied)
    monkeypatch.setattr(JournalReader, "skip_to_end", denied)
    assert source.needs_reload() and source.reload() is None
    assert [n.id for n in source.notes] == ["TCP3024"]
    assert source.current.policy.check_recipient("10.0.0.1", FAR).allowed
    assert not source.needs_reload()           # not compiled again at every look


# A command reads the last generation of the journal without json (json's import is a
# part of its start-up, bench/bench_cl.py): what it reads must be what json reads.
@pytest.mark.parametrize("records, changes", [
    (["10.1.1.1 255.255.255.255"], None),
    (['a "quoted" \\ domain,"gen":9}', "caf\u00e9", "\udcff bytes"], None),
    (None, {"ALWRLY": "*LIST", "odd": 'x","gen":5}'}),
    (None, None),
])
def test_the_lines_the_writer_makes_are_read_back_without_json_as_json_reads_them(records, changes):
    line = journal.record_line("QATMADRLST", "ACCEPTRLY", journal.ADD, (1, 2, 3), (4, 5),
                               records, changes, 12345).rstrip(b"\n")
    assert journal._own_generation(line) == json.loads(line)["gen"] == 12345
    start = journal.start_line(77, "0f1e2d3c4b5a6978").rstrip(b"\n")
    assert json.loads(start) == {"gen": 77, "op": journal.START, "journal": "0f1e2d3c4b5a6978"}
    assert journal._own_start(start) == (77, "0f1e2d3c4b5a6978")
    # Lines of any other shape are left to json (parse_line), which may refuse them.
    for other in (b'{"gen":3,"op":"start","journal":"a b"}', b'{"file":"X","gen":"7"}',
                  b'{"file":"X","gen":7', b"", line[:-1], start[:-1]):
        assert journal._own_generation(other) is None and journal._own_start(other) is None
