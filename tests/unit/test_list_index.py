"""The on-disk index of a list member (listindex) decides exactly what parsing the whole
member would: ADDSMTPLE/RMVSMTPLE through ListMember are compared, operation by
operation, with the member-parsing implementation the index replaced, through adds,
removes and every kind of hand edit between them; messages, details and member bytes
must be the same. And the index does what it is for: an add to a member that did not
change under it parses nothing. ListMember searches a small member without its index
(listscan); here the index is used whatever the size, but for the comparison with
the member-parsing implementation, which runs both ways."""

from __future__ import annotations

import tempfile
import zlib
import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qtsmtp.messages import CLError, escape
from qtsmtp.config import entries, listindex, listscan
from qtsmtp.config import listtypes as lt
from qtsmtp.config.lists import ListMember, member_file, parse_member, without_lines

ACCEPT = lt.LIST_TYPES["*ACCEPT"]
NEAR = lt.LIST_TYPES["*NEAR"]


def parse_valid(member, list_type: lt.ListType, text: str) -> list:
    """parse_member with a record that is not an entry passed over, as ListMember passes
    over a hand-edited line (TCP2671) rather than refuse every change to the list."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            entry = entries.parse_record(list_type, line)
        except CLError:
            continue
        if entry is not None:
            out.append((number, entry))
    return out


class ParsingListMember:
    """ListMember as it was before the index: the whole member parsed for every change."""

    def __init__(self, root: Path, list_type: lt.ListType):
        self.list_type = list_type
        self.member = member_file(root, list_type)

    def add(self, entry):
        records = parse_valid(self.member, self.list_type, self.member.read_text())
        index = {e.identity: e for _, e in records}
        if entry.identity in index:
            raise escape("TCP2650", self.list_type.name_in_text,
                         detail=f"The entry is {index[entry.identity].record.split(chr(9))[0]}.")
        self.member.append(entry.record)

    def remove(self, entry):
        text = self.member.read_text()
        records = parse_valid(self.member, self.list_type, text)
        found = [number for number, e in records if e.identity == entry.identity]
        if not found:
            raise escape("TCP2651", self.list_type.name_in_text)
        drop = set(found)
        lines = text.splitlines(keepends=True)
        kept = [line for number, line in enumerate(lines, 1) if number not in drop]
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += "\n"
        self.member.replace("".join(kept))
        return dict(records)[found[0]]


def outcome(call):
    try:
        result = call()
    except CLError as error:
        return ("error", [(str(m), m.detail) for m in error.messages])
    return ("done", result)


def indexed(root: Path, list_type: lt.ListType, op: str, entry, scan: bool = False):
    """``op`` through ListMember: with its index, or (``scan``) as it does for a small
    member, searching the member without it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        if not scan:
            monkeypatch.setattr(listscan, "MOST_BYTES", -1)
        with ListMember(root, list_type) as member:
            return outcome(lambda: getattr(member, op)(entry))


# --- operations and hand edits --------------------------------------------------------

NEAR_VALUES = [
    {"INTNETADR": "10.1.1.0", "SUBNETMASK": "255.255.255.0"},
    {"INTNETADR": "10.1.1.77", "SUBNETMASK": "255.255.255.0"},     # the same network
    {"INTNETADR": "10.1.1.5"},
    {"INTNETADR": "10.2.0.0", "SUBNETMASK": "255.255.0.0"},
    {"HOSTNAME": "example.com"},
    {"HOSTNAME": "Example.COM."},                                  # the same domain
    {"HOSTNAME": ".example.com"},
    {"HOSTNAME": "mx.example.org"},
]

HAND_LINES = [
    "10.1.1.0 255.255.255.0", "10.1.1.9   255.255.255.0", "10.1.1.5", "\t10.2.3.4 255.255.0.0",
    "example.com", "EXAMPLE.com.", ".example.com", "mx.example.org", "# a comment", "", "  ",
    "10.1.1.999", "bad..example", "10.1.1.5 255.255.255.255 extra",
    "10.1.2.0 255.255.255.0", "10.1.1.6", "example.org", "10.1.1.5 255.255.255.254",
]
BREAKS = ["\n", "\r\n", "\r", "\x0c", "\u2028"]

operation = st.one_of(
    st.tuples(st.sampled_from(["add", "remove"]), st.sampled_from(range(len(NEAR_VALUES)))),
    st.tuples(st.just("append"), st.sampled_from(HAND_LINES), st.sampled_from(BREAKS)),
    st.tuples(st.just("rewrite"), st.integers(0, 30), st.sampled_from(HAND_LINES)),
    st.tuples(st.just("delete"), st.integers(0, 30)),
    st.tuples(st.just("same size"), st.integers(0, 30), st.integers(0, len(HAND_LINES))),
    st.tuples(st.just("open end"),),
    st.tuples(st.just("drop index"),),
)


def hand_edit(path: Path, op: tuple) -> None:
    """The same edit, in place (same inode), as a person's script would make it."""
    text = path.read_bytes().decode("utf-8") if path.exists() else ""
    lines = text.splitlines(keepends=True)
    if op[0] == "append":
        text += op[1] + op[2]
    elif op[0] == "rewrite" and lines:
        i = op[1] % len(lines)
        lines[i] = op[2] + "\n"
        text = "".join(lines)
    elif op[0] == "same size" and lines:
        # Another line of the same length where there is one: the member keeps its size.
        i = op[1] % len(lines)
        bare = lines[i].rstrip("\r\n")
        same = [line for line in HAND_LINES if len(line) == len(bare) and line != bare]
        if same:
            lines[i] = same[op[2] % len(same)] + lines[i][len(bare):]
            text = "".join(lines)
    elif op[0] == "delete" and lines:
        del lines[op[1] % len(lines)]
        text = "".join(lines)
    elif op[0] == "open end":
        text = text.rstrip("\n")
    with open(path, "r+" if path.exists() else "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.truncate()


def stored(root: Path, list_type: lt.ListType = NEAR) -> bytes | None:
    path = member_file(root, list_type).path
    return path.read_bytes() if path.exists() else None


def run_both(ops, stat_is_coarse: bool, monkeypatch, scan: bool = False,
             list_type: lt.ListType = NEAR, values: list = NEAR_VALUES) -> None:
    if stat_is_coarse:
        # A file system whose stat key may not change on a write (same size, same tick):
        # only the content checksum can tell, and it must.
        real = listindex._stat_key

        def coarse(st):
            key, _ = real(st)
            return (None if key is None else ":".join(key.split(":")[:2])), time.time_ns()
        monkeypatch.setattr(listindex, "_stat_key", coarse)
    with tempfile.TemporaryDirectory() as tmp:
        new_root, old_root = Path(tmp) / "new", Path(tmp) / "old"
        path = member_file(new_root, list_type).path
        try:
            for op in ops:
                if op[0] in ("add", "remove"):
                    entry = entries.entry_from_parms(list_type, values[op[1]])
                    new = indexed(new_root, list_type, op[0], entry, scan)
                    member_file(old_root, list_type).directory.mkdir(parents=True, exist_ok=True)
                    old = outcome(lambda: getattr(ParsingListMember(old_root, list_type), op[0])(entry))
                    assert new == old, (op, stored(new_root, list_type))
                elif op[0] == "drop index":
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path.parent}/.{path.name}.idx{suffix}").unlink(missing_ok=True)
                else:
                    # Someone else's edit, after the commands so far ended: their process is
                    # gone (a process trusts the stat key of its own last change).
                    listindex._close_all()
                    for root in (new_root, old_root):
                        p = member_file(root, list_type).path
                        p.parent.mkdir(parents=True, exist_ok=True)
                        hand_edit(p, op)
                assert stored(new_root, list_type) == stored(old_root, list_type), op
        finally:
            listindex._close_all()


# A line rewritten in place to another of the same length, between two commands.
SAME_SIZE_EDITS = [[("add", 0), ("same size", 0, 0), ("add", 0)],
                   [("add", 4), ("add", 2), ("same size", 0, 0), ("remove", 4), ("add", 4)]]
# Two records of one network, made by hand: a duplicate is reported against the last,
# RMVSMTPLE removes both and returns the first.
TWO_OF_ONE = [("append", "10.1.1.9   255.255.255.0", "\n"), ("append", "10.1.1.0 255.255.255.0", "\r\n"),
              ("append", "# office", "\n"), ("add", 1), ("remove", 0), ("add", 1)]


@settings(max_examples=150, deadline=None)
@given(st.lists(operation, max_size=25))
@example(SAME_SIZE_EDITS[0])
@example(SAME_SIZE_EDITS[1])
@example(TWO_OF_ONE)
def test_index_decides_as_parsing_the_member_would(ops):
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_both(ops, stat_is_coarse=False, monkeypatch=monkeypatch)


@settings(max_examples=150, deadline=None)
@given(st.lists(operation, max_size=25))
@example(SAME_SIZE_EDITS[0])
@example(TWO_OF_ONE)
def test_a_small_member_searched_without_its_index_decides_as_parsing_would(ops):
    # Outside a script, ListMember searches a small member itself (listscan); an index
    # file made by an earlier, larger state of the list is left as it is.
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_both(ops, stat_is_coarse=False, monkeypatch=monkeypatch, scan=True)


# An IPv4 list (*ACCEPT): its canonical records take the fast paths (canonical_ip4_network:
# the index's _ip4_bucket, the scan's (network, prefix) compare) that *NEAR never does.
ACCEPT_VALUES = [
    {"INTNETADR": "10.1.1.0", "SUBNETMASK": "255.255.255.0"},
    {"INTNETADR": "10.1.1.77", "SUBNETMASK": "255.255.255.0"},     # the same network
    {"INTNETADR": "10.1.1.5"},
    {"INTNETADR": "10.2.0.0", "SUBNETMASK": "255.255.0.0"},
    {"INTNETADR": "10.1.1.5", "SUBNETMASK": "255.255.255.254"},
    {"INTNETADR": "10.1.1.6", "SUBNETMASK": "255.255.255.255"},
    {"INTNETADR": "10.1.2.0", "SUBNETMASK": "255.255.255.0"},
    {"INTNETADR": "0.0.0.0", "SUBNETMASK": "0.0.0.0"},
]


@settings(max_examples=150, deadline=None)
@given(st.lists(operation, max_size=25), st.booleans())
@example(TWO_OF_ONE, True)
@example(TWO_OF_ONE, False)
def test_an_ip4_list_searched_with_or_without_its_index_decides_as_parsing_would(ops, scan):
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_both(ops, stat_is_coarse=False, monkeypatch=monkeypatch, scan=scan,
                 list_type=ACCEPT, values=ACCEPT_VALUES)


@settings(max_examples=100, deadline=None)
@given(st.lists(operation, max_size=25))
@example(SAME_SIZE_EDITS[0])
@example(SAME_SIZE_EDITS[1])
def test_index_sees_hand_edits_that_leave_the_stat_key_as_it_was(ops):
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_both(ops, stat_is_coarse=True, monkeypatch=monkeypatch)


# --- the point of it ------------------------------------------------------------------

def add(root, text_values, list_type=ACCEPT):
    return indexed(root, list_type, "add", entries.entry_from_parms(list_type, text_values))


def test_an_add_to_an_unchanged_member_parses_nothing_of_it(tmp_path, monkeypatch):
    path = member_file(tmp_path, ACCEPT).path
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"10.{i // 250}.{i % 250}.0 255.255.255.0\n" for i in range(5000)))
    assert add(tmp_path, {"INTNETADR": "192.0.2.1"}) == ("done", None)        # builds the index
    listindex._close_all()                                   # as a new process would find it
    monkeypatch.setattr(listindex.ListIndex, "_rebuild",
                        lambda *a: pytest.fail("the whole member was parsed again"))
    monkeypatch.setattr(entries, "parse_record", lambda *a: pytest.fail("parse_record"))
    assert add(tmp_path, {"INTNETADR": "192.0.2.2"}) == ("done", None)
    assert add(tmp_path, {"INTNETADR": "192.0.2.3"}) == ("done", None)
    result = add(tmp_path, {"INTNETADR": "10.3.7.99", "SUBNETMASK": "255.255.255.0"})
    assert result[0] == "error" and result[1][0][1] == "The entry is 10.3.7.0 255.255.255.0."
    assert path.read_text().splitlines()[-3:] == [
        "192.0.2.1 255.255.255.255", "192.0.2.2 255.255.255.255", "192.0.2.3 255.255.255.255"]
    # Changed longer ago than a timestamp tick (none here), the member is not even read.
    monkeypatch.setattr(listindex, "RACY_NS", 0)
    monkeypatch.setattr(listindex.MemberFile, "read_bytes", lambda *a: pytest.fail("read"))
    assert add(tmp_path, {"INTNETADR": "192.0.2.4"}) == ("done", None)
    assert add(tmp_path, {"INTNETADR": "192.0.2.4"})[1][0][0].startswith("TCP2650 ")


def test_records_appended_by_hand_are_added_not_the_member_parsed_again(tmp_path, monkeypatch):
    path = member_file(tmp_path, ACCEPT).path
    path.parent.mkdir(parents=True)
    path.write_text("10.0.0.0 255.0.0.0\n")
    assert add(tmp_path, {"INTNETADR": "192.0.2.1"}) == ("done", None)
    with open(path, "a") as f:
        f.write("# added by hand\n172.16.0.0 255.240.0.0\n")
    monkeypatch.setattr(listindex.ListIndex, "_rebuild",
                        lambda *a: pytest.fail("the whole member was parsed again"))
    result = add(tmp_path, {"INTNETADR": "172.16.5.5", "SUBNETMASK": "255.240.0.0"})
    assert result[0] == "error" and result[1][0][0].startswith("TCP2650 ")
    with open(path, "a") as f:
        f.write("10.1.1.999\n")
    # A line that is not an entry is passed over (TCP2671), not a stop to every change.
    assert add(tmp_path, {"INTNETADR": "192.0.2.2"}) == ("done", None)


def test_a_damaged_index_is_made_again(tmp_path):
    assert add(tmp_path, {"INTNETADR": "192.0.2.1"}) == ("done", None)
    listindex._close_all()
    index = member_file(tmp_path, ACCEPT).directory / ".ACCEPTRLY.idx"
    index.write_bytes(b"not a database, a hand edit gone wrong" * 100)
    assert add(tmp_path, {"INTNETADR": "192.0.2.1"})[1][0][0].startswith("TCP2650 ")
    assert add(tmp_path, {"INTNETADR": "192.0.2.2"}) == ("done", None)
    assert index.read_bytes().startswith(b"SQLite format 3")


def test_an_index_from_an_earlier_boot_is_made_again(tmp_path, monkeypatch):
    # The index is written without fsync (a cache): only a crash of the machine could
    # tear it, and after one the boot is another, so nothing written before is trusted.
    assert add(tmp_path, {"INTNETADR": "192.0.2.1"}) == ("done", None)
    listindex._close_all()
    rebuilt = []
    original = listindex.ListIndex._rebuild
    monkeypatch.setattr(listindex.ListIndex, "_rebuild",
                        lambda self, *a: rebuilt.append(1) or original(self, *a))
    assert add(tmp_path, {"INTNETADR": "192.0.2.2"}) == ("done", None)
    assert rebuilt == []                                     # same boot: trusted
    listindex._close_all()
    monkeypatch.setattr(listindex, "BOOT_ID", "another-boot")
    assert add(tmp_path, {"INTNETADR": "192.0.2.1"})[1][0][0].startswith("TCP2650 ")
    assert rebuilt == [1]
    assert add(tmp_path, {"INTNETADR": "192.0.2.3"}) == ("done", None)
    assert rebuilt == [1]                                    # and trusted from then on


def test_an_index_that_cannot_be_a_file_is_kept_in_memory(tmp_path):
    index = member_file(tmp_path, ACCEPT).directory / ".ACCEPTRLY.idx"
    index.mkdir(parents=True)                   # in the way, and not ours to remove
    assert add(tmp_path, {"INTNETADR": "192.0.2.1"}) == ("done", None)
    assert add(tmp_path, {"INTNETADR": "192.0.2.1"})[1][0][0].startswith("TCP2650 ")
    assert member_file(tmp_path, ACCEPT).path.read_text() == "192.0.2.1 255.255.255.255\n"
    assert index.is_dir()


def test_credentials_are_not_copied_into_an_index_file(tmp_path):
    auth = lt.LIST_TYPES["*HOSTAUTH"]
    values = {"HOSTNAME": "mx.example", "USERNAME": "joe", "PASSWORD": "Se cret"}
    assert add(tmp_path, values, auth) == ("done", None)
    assert add(tmp_path, values, auth)[1][0][0].startswith("TCP2650 ")
    listindex._close_all()
    directory = member_file(tmp_path, auth).directory
    assert not any("idx" in p.name for p in directory.iterdir())


# --- removing lines without splitting the member --------------------------------------

_TEXT = st.lists(st.sampled_from(["a", "b", "ab", "#", " ", "\n", "\r", "\r\n", "\x0c", "\x1c",
                                  "\x85", "\u2028", "é"]), max_size=30).map("".join)


@settings(max_examples=3000, deadline=None)
@given(_TEXT, st.sets(st.sampled_from(["a", "b", "ab", "#", " ", "é", "a b"]), max_size=3))
def test_without_lines_is_the_lines_not_dropped(text, drop):
    kept = [line for bare, line in zip(text.splitlines(), text.splitlines(keepends=True))
            if bare not in drop]
    removed = len(text.splitlines()) - len(kept)
    assert without_lines(text, drop) == ("".join(kept), removed)


@pytest.mark.parametrize("op, values", [("add", {"INTNETADR": "10.2.2.2"}),
                                        ("remove", {"INTNETADR": "10.1.1.1"}),
                                        ("remove", {"INTNETADR": "10.9.9.9"})])
def test_a_small_member_names_the_records_passed_over_as_its_index_does(tmp_path, op, values):
    text = ("10.1.1.1 255.255.255.255\n10.1.1.999\n# note\n"
            + "".join(f"bad{n}\n" for n in range(5)) + "10.3.3.3\n")
    said = {}
    for scan in (False, True):
        root = tmp_path / str(scan)
        path = member_file(root, ACCEPT).path
        path.parent.mkdir(parents=True)
        path.write_text(text)
        with pytest.MonkeyPatch.context() as monkeypatch:
            if not scan:
                monkeypatch.setattr(listscan, "MOST_BYTES", -1)
            with ListMember(root, ACCEPT) as member:
                result = outcome(lambda: getattr(member, op)(
                    entries.entry_from_parms(ACCEPT, values)))
                said[scan] = (result, [str(m) for m in member.index.passed_over],
                              path.read_text())
        listindex._close_all()
    assert said[True] == said[False]
    assert said[True][1][0].startswith("TCP2671 ") and said[True][1][-1].startswith("TCP2673 ")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=3000), st.data())
def test_the_checksum_carried_forward_is_the_checksum_of_the_new_bytes(data, draw):
    # ListIndex.marked_removed keeps the member's CRC-32 without reading it.
    offset = draw.draw(st.integers(0, len(data) - 1))
    new = draw.draw(st.binary(min_size=1, max_size=len(data) - offset))
    old = data[offset:offset + len(new)]
    after = data[:offset] + new + data[offset + len(new):]
    assert listindex.crc32_overwritten(zlib.crc32(data), len(data), offset, old, new) \
        == zlib.crc32(after)


@pytest.mark.parametrize("data", [b"", b"a\n", b"a\nbb\n", b"a\nbb", b"a\r\nbb\n", b"a\rb\n",
                                  b"a\x0cb\n", b"\n\n", "é\u2028x\n".encode()])
def test_line_offsets_are_where_splitlines_lines_start_or_none(data):
    lines = data.decode("utf-8", "surrogateescape").splitlines()
    offsets = list(zip(lines, listindex._line_offsets(data, len(lines), 7)))
    for line, at in offsets:
        if at is not None:
            assert data[at - 7:].startswith(line.encode("utf-8", "surrogateescape"))
    known = all(at is not None for _, at in offsets)
    assert known == (not lines or len(lines) == len(data.split(b"\n")) - data.endswith(b"\n")), data


def test_a_same_size_edit_that_restores_the_mtime_on_a_whole_second_file_system_is_seen(
        tmp_path, monkeypatch):
    # A file system whose times are whole seconds (ext4 with 128-byte inodes; FAT's
    # 2 s): a hand edit in the second of a command's own change keeps its change time,
    # and "cp -p" of a copy made after the command (or rsync --inplace -t) gives the
    # member back the modification time the command set (store.member.backdate). The
    # index must compare the content then, not trust the backdated time.
    import os

    def whole_seconds(st):
        if st is None:
            return None, 0
        mtime, ctime = (t // 10**9 * 10**9 for t in (st.st_mtime_ns, st.st_ctime_ns))
        return f"{st.st_ino}:{st.st_size}:{mtime}:{ctime}", max(mtime, ctime)
    monkeypatch.setattr(listindex, "_stat_key", whole_seconds)
    monkeypatch.setattr(listscan, "MOST_BYTES", -1)
    path = member_file(tmp_path, ACCEPT).path
    path.parent.mkdir(parents=True)
    path.write_text("10.1.1.1 255.255.255.255\n")
    edited = ("10.1.1.1 ", "10.1.1.2 ")
    for attempt in range(20):              # until the edit falls in the command's second
        listindex._close_all()
        with ListMember(tmp_path, ACCEPT) as member:
            member.add(entries.entry_from_parms(ACCEPT, {"INTNETADR": f"10.9.9.{attempt}"}))
        before = os.stat(path)
        with open(path, "r+b") as f:       # in place, the same size
            text = f.read()
            f.seek(0)
            f.write(text.replace(edited[0].encode(), edited[1].encode()))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = os.stat(path)
        if after.st_ctime_ns // 10**9 == before.st_ctime_ns // 10**9:
            break
        edited = edited[::-1]
    else:
        raise AssertionError("no edit in the same second as its command in 20 tries")
    listindex._close_all()                 # the next command: another process
    with ListMember(tmp_path, ACCEPT) as member:
        result = outcome(lambda: member.add(
            entries.entry_from_parms(ACCEPT, {"INTNETADR": edited[1].strip()})))
    assert result[0] == "error" and result[1][0][0].startswith("TCP2650"), result
    listindex._close_all()
