"""A server job's reload after list changes made without a command (by hand): appended
records only, or everything again. (What the commands change reaches the job through
the change journal: test_journal.py.)

Records appended are added to a copy of the policy without reading the rest of the
member again (policyload.add_appended); anything else compiles everything.
Whichever way a reload goes, its decisions must be those of a fresh compile of the same
members, and a change that merely looks like an append (same file, longer) must not
hide an edit of the records before.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qtsmtp.config import policyload
from qtsmtp.config.policyload import PolicySource, compile_policy
from qtsmtp.config import listtypes as lt
from qtsmtp.config.address import canonical_recipient
from qtsmtp.config.entries import parse_record
from qtsmtp.config.policy import RelayPolicy
from support import new_library

CLIENTS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.1.2.3", "192.0.2.7", "192.0.2.8",
           "198.51.100.1", "127.0.0.1"]
FAR = canonical_recipient("user@far.example")


@pytest.fixture
def root(tmp_path) -> Path:
    new_library(tmp_path)
    (tmp_path / "QUSRSYS" / "QATMSMTP" / "CONFIG").write_text(
        (tmp_path / "QUSRSYS" / "QATMSMTP" / "CONFIG").read_text()
        .replace('ALWRLY = "*BOTH"', 'ALWRLY = "*LIST"'))
    member(tmp_path, "ACCEPTRLY").write_text("10.0.0.1 255.255.255.255\n")
    member(tmp_path, "REJECTCNN").write_text("")
    return tmp_path


def member(root: Path, name: str) -> Path:
    return root / "QUSRSYS" / "QATMADRLST" / name


def append(path: Path, text: str) -> None:
    with open(path, "a") as f:           # what ADDSMTPLE does: an append to the member
        f.write(text)


def decisions(compiled) -> list[tuple]:
    policy = compiled.policy
    return [(c, policy.check_connect(c).allowed, policy.check_recipient(c, FAR).explain())
            for c in CLIENTS]


def reloaded(source: PolicySource) -> tuple[str, list[tuple]]:
    """Reload; which way it went, and its decisions (checked against a fresh compile)."""
    before = source.current
    assert source.needs_reload()
    assert source.reload() is None
    # The *DOMAIN table (no test here appends to it) is shared only by an appended policy.
    shared = source.current.policy._local_domains is before.policy._local_domains
    way = "appended" if shared else "compiled"
    fresh = compile_policy(source.root, source.default_system_name, source.local_addresses)
    assert decisions(source.current) == decisions(fresh)
    assert source.current.summary() == fresh.summary()
    return way, decisions(source.current)


def allowed_clients(found: list[tuple]) -> set[str]:
    return {client for client, _, explained in found if explained.startswith("relay allowed")}


def test_appended_records_are_added_without_a_full_compile(root) -> None:
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    assert source.current.policy.check_recipient("192.0.2.7", FAR).allowed is False
    append(member(root, "ACCEPTRLY"), "192.0.2.7 255.255.255.255\n10.1.0.0 255.255.0.0\n")
    way, found = reloaded(source)
    assert way == "appended"
    assert allowed_clients(found) == {"10.0.0.1", "192.0.2.7", "10.1.2.3"}
    append(member(root, "REJECTCNN"), "198.51.100.1 255.255.255.255\n")
    way, found = reloaded(source)
    assert way == "appended"
    assert [allowed for client, allowed, _ in found if client == "198.51.100.1"] == [False]


def test_an_edit_before_the_appended_records_is_not_missed(root) -> None:
    """Same file, same length of the old part, more at the end: looks like an append."""
    path = member(root, "ACCEPTRLY")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    with open(path, "r+") as f:                      # 10.0.0.1 -> 10.0.0.2, in place
        f.write("10.0.0.2")
    append(path, "192.0.2.8 255.255.255.255\n")
    way, found = reloaded(source)
    assert way == "compiled"
    assert allowed_clients(found) == {"10.0.0.2", "192.0.2.8"}


def test_rewrites_new_members_and_attribute_changes_compile_everything(root) -> None:
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    path = member(root, "ACCEPTRLY")
    replacement = path.with_suffix(".new")
    replacement.write_text("10.0.0.3 255.255.255.255\n")
    os.replace(replacement, path)                    # what RMVSMTPLE does
    assert reloaded(source)[0] == "compiled"
    assert allowed_clients(decisions(source.current)) == {"10.0.0.3"}

    member(root, "NEAR").write_text("10.0.0.0 255.255.255.0\n")    # a member that was not there
    way, _ = reloaded(source)
    assert way == "compiled"

    config = root / "QUSRSYS" / "QATMSMTP" / "CONFIG"
    config.write_text(config.read_text().replace('ALWRLY = "*LIST"', 'ALWRLY = "*NONE"'))
    append(path, "192.0.2.7 255.255.255.255\n")
    assert reloaded(source)[0] == "compiled"
    assert allowed_clients(decisions(source.current)) == set()


def test_a_record_appended_after_a_last_line_without_a_line_end(root) -> None:
    path = member(root, "ACCEPTRLY")
    path.write_text("10.0.0.1 255.255.255.255")      # a hand edit: no final line end
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    append(path, "\n192.0.2.7 255.255.255.255\n")
    way, found = reloaded(source)
    assert way == "compiled"
    assert allowed_clients(found) == {"10.0.0.1", "192.0.2.7"}


def test_a_bad_appended_record_keeps_the_last_good_policy_and_names_its_number(root) -> None:
    path = member(root, "ACCEPTRLY")
    append(path, "192.0.2.7 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    good = source.current
    append(path, "192.0.2.8 255.255.255.255\nnot an address\n")
    error = source.reload()
    assert error is not None and "at record 4" in str(error.escape)
    assert source.current is good
    assert not source.needs_reload()                 # reported once, not on every check
    path.write_text("10.0.0.1 255.255.255.255\n")    # fixed
    assert reloaded(source)[0] == "compiled"


def test_a_member_appended_while_it_is_read_is_caught_up_next_time(root, monkeypatch) -> None:
    """The keys are taken before the members are read: an append that lands during a
    read is in the policy, and the next check sees that the member changed again."""
    path = member(root, "ACCEPTRLY")
    compiled = compile_policy(root, "mail.test", ("127.0.0.1",))
    real_stat_keys = policyload.stat_keys

    def stat_then_append(members):
        keys = real_stat_keys(members)
        append(path, "192.0.2.7 255.255.255.255\n")    # right after the stat, before the read
        return keys

    append(path, "10.0.0.3 255.255.255.255\n")
    monkeypatch.setattr(policyload, "stat_keys", stat_then_append)
    caught_up = policyload.add_appended(root, compiled)
    monkeypatch.setattr(policyload, "stat_keys", real_stat_keys)
    assert allowed_clients(decisions(caught_up)) == {"10.0.0.1", "10.0.0.3", "192.0.2.7"}
    assert caught_up.keys != real_stat_keys(policyload.watched_members(root))
    again = policyload.add_appended(root, caught_up)      # nothing new after what it read
    assert again is not None and again.summary() == caught_up.summary() == "*ACCEPT=3"


def test_a_list_of_plain_and_hand_written_records_compiles_as_its_entries(root) -> None:
    """The loader takes canonical IPv4 records as (network, prefix) pairs and parses the
    rest: the policy must be the one built from every record's Entry."""
    records = ["10.0.0.1 255.255.255.255", "  10.0.0.2\t255.255.255.255 ", "# office",
               "10.1.2.7 255.255.255.0", "10.1.2.3", "", "192.0.2.0 255.255.255.128"]
    member(root, "ACCEPTRLY").write_text("\n".join(records) + "\n")
    member(root, "REJECTCNN").write_text("198.51.100.1\n198.51.100.0 255.255.255.254\n")
    compiled = compile_policy(root, "sys.test", ("127.0.0.1",))
    accept, reject = lt.LIST_TYPES["*ACCEPT"], lt.LIST_TYPES["*REJECT"]
    from_entries = RelayPolicy.from_entries(
        "*LIST", {"*ACCEPT": [e for r in records if (e := parse_record(accept, r))],
                  "*REJECT": [parse_record(reject, "198.51.100.1"),
                              parse_record(reject, "198.51.100.0 255.255.255.254")]},
        local_domains=["sys.test"], local_addresses=["127.0.0.1"])
    assert compiled.policy.sizes() == from_entries.sizes() == {
        "*ACCEPT": 5, "*ACCEPTIP6": 0, "*REJECT": 2, "*REJECTIP6": 0, "*NEAR": 0, "*DOMAIN": 0}
    for client in CLIENTS:
        assert (compiled.policy.check_connect(client).explain()
                == from_entries.check_connect(client).explain()), client
        assert (compiled.policy.check_recipient(client, FAR).explain()
                == from_entries.check_recipient(client, FAR).explain()), client


def rewrite(path: Path, text: str) -> None:
    replacement = path.with_suffix(".new")
    replacement.write_text(text)
    os.replace(replacement, path)                    # what RMVSMTPLE does


def test_records_taken_out_by_hand_compile_everything(root) -> None:
    """RMVSMTPLE's removals reach a server job through the change journal
    (test_journal.py); the same rewrite made by hand, without a record, is compiled."""
    accept, reject = member(root, "ACCEPTRLY"), member(root, "REJECTCNN")
    accept.write_text("10.0.0.1 255.255.255.255\n# office\n192.0.2.7 255.255.255.255\n"
                      "10.1.0.0 255.255.0.0\n10.0.0.2 255.255.255.255\n")
    reject.write_text("198.51.100.1 255.255.255.255\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    rewrite(accept, "10.0.0.1 255.255.255.255\n# office\n10.1.0.0 255.255.0.0\n"
                    "10.0.0.2 255.255.255.255\n")
    _, found = reloaded(source)
    assert allowed_clients(found) == {"10.0.0.1", "10.0.0.2", "10.1.2.3"}
    rewrite(accept, "10.0.0.2 255.255.255.255\n")    # two records and a comment at once
    _, found = reloaded(source)
    assert allowed_clients(found) == {"10.0.0.2"}
    rewrite(reject, "")
    _, found = reloaded(source)
    assert [allowed for client, allowed, _ in found if client == "198.51.100.1"] == [True]
    append(accept, "192.0.2.8 255.255.255.255\n")    # and an append after it all
    _, found = reloaded(source)
    assert allowed_clients(found) == {"10.0.0.2", "192.0.2.8"}


def test_a_network_with_another_record_stays(root) -> None:
    """Two records of one network, written by hand; one taken out: the network stays."""
    accept = member(root, "ACCEPTRLY")
    accept.write_text("10.1.2.0 255.255.255.0\n10.0.0.1 255.255.255.255\n"
                      "  10.1.2.77\t255.255.255.0\n110.1.2.0 255.255.255.0\n")
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    rewrite(accept, "10.0.0.1 255.255.255.255\n  10.1.2.77\t255.255.255.0\n"
                    "110.1.2.0 255.255.255.0\n")
    _, found = reloaded(source)
    assert allowed_clients(found) == {"10.0.0.1", "10.1.2.3"}
    rewrite(accept, "10.0.0.1 255.255.255.255\n110.1.2.0 255.255.255.0\n")
    _, found = reloaded(source)
    assert allowed_clients(found) == {"10.0.0.1"}


TWO = "10.0.0.1 255.255.255.255\n192.0.2.7 255.255.255.255\n"


@pytest.mark.parametrize("before, after", [
    (TWO, "10.0.0.1 255.255.255.255\n10.0.0.3 255.255.255.255\n"),    # one out, another in
    (TWO, "10.0.0.2 255.255.255.255\n"),                              # one out, one changed
    (TWO, "10.0.0.1 255.255.255.255"),                                 # no last line end
    (TWO, "192.0.2.7 255.255.255.255\n10.0.0.1 255.255.255.255\n"),    # the order changed
    (TWO + "10.0.0.0 255.0.0.0\n", TWO),                               # a /8: many candidates
    ("10.0.0.1 255.255.255.255", ""),                                  # no last line end before
])
def test_anything_but_lines_taken_out_compiles_everything(root, before, after) -> None:
    accept = member(root, "ACCEPTRLY")
    accept.write_text(before)
    source = PolicySource(root, "mail.test", ("127.0.0.1",))
    rewrite(accept, after)
    way, _ = reloaded(source)              # its decisions are a fresh compile's
    assert way == "compiled"
