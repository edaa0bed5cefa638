"""The spare-file pool (qtsmtp.queue.pool): a commit process takes empty files from
queue/spare/ instead of creating one per message, delivery gives a delivered message's
file back emptied. What must hold: a file is written into only if it is an empty,
private, single-link file of ours; a message leaves the queue at the first step of its
give-back; whatever a kill leaves half done is never taken for a message and is cleared
at the next start; the pool never holds more than its limit."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from qtsmtp.queue import format as qformat
from qtsmtp.queue import pool as qpool
from qtsmtp.queue import states as qstates
from qtsmtp.queue.writer import Commit, QueueWriter, commit_batch
from qtsmtp.server.committer import CommitProcess


@pytest.fixture
def queue(tmp_path) -> Path:
    return qformat.prepare(tmp_path)


def spare_names(queue: Path) -> list[str]:
    return sorted(os.listdir(queue / qformat.SPARE))


def make_spares(queue: Path, *numbers: int) -> list[int]:
    """Empty spares in the given slots; their inode numbers."""
    inodes = []
    for number in numbers:
        path = queue / qformat.SPARE / qpool.slot_name(number)
        path.touch(mode=0o600)
        inodes.append(path.stat().st_ino)
    return inodes


def envelope(queue_id: str) -> dict:
    return qformat.make_envelope(queue_id, "2026-12-05T00:00:00+00:00", client="127.0.0.2",
                                 client_port=1025, helo="client.test", protocol="ESMTP",
                                 sender="", recipients=["postmaster"], written=["postmaster"],
                                 size=5, server_job="000003")


def queue_file(queue_id: str) -> bytes:
    return qformat.header(envelope(queue_id)) + f"Subject: {queue_id}\r\n\r\nx\r\n".encode()


class Directories:
    def __init__(self, queue: Path):
        flags = os.O_RDONLY | os.O_DIRECTORY
        self.tmp = os.open(queue / qformat.TMP, flags)
        self.incoming = os.open(queue / qformat.INCOMING, flags)

    def close(self) -> None:
        os.close(self.tmp)
        os.close(self.incoming)


@pytest.fixture
def dirs(queue):
    opened = Directories(queue)
    yield opened
    opened.close()


# --- taking a spare --------------------------------------------------------------------------

def test_a_message_is_written_into_a_spare_instead_of_a_new_file(queue, dirs) -> None:
    inodes = make_spares(queue, 0, 1, 2)
    writer = QueueWriter(queue.parent)
    writer.pool = qpool.SparePool(queue)
    ids = [writer.new_id() for _ in range(4)]
    batch = [Commit(i, queue_file(i)) for i in ids]
    commit_batch(writer, batch, dirs.tmp, dirs.incoming)
    writer.pool.close()
    assert [m.error for m in batch] == [None] * 4
    incoming = queue / qformat.INCOMING
    assert sorted(os.listdir(incoming)) == sorted(ids)
    for queue_id in ids:
        assert qformat.read_queue_file(incoming / queue_id) == (
            envelope(queue_id), f"Subject: {queue_id}\r\n\r\nx\r\n".encode())
    used = {(incoming / i).stat().st_ino for i in ids}
    assert set(inodes) <= used                  # three spares, then one file created
    assert writer.pool.taken == 3
    assert spare_names(queue) == [] and os.listdir(queue / qformat.TMP) == []


@pytest.mark.parametrize("spoil", ["content", "link", "group", "directory", "symlink", "fifo"])
def test_what_is_not_an_empty_private_file_is_never_written_into(queue, dirs, spoil) -> None:
    """After a crash of the whole system a spare/ entry may come back naming a file
    filled since (a message: two links, content); or a person put something there. It
    goes to corrupt/ untouched, and the message gets the next spare."""
    slot = queue / qformat.SPARE / "0000"
    other = queue / qformat.INCOMING / "ELSEWHERE"
    if spoil == "content":
        slot.write_bytes(b"QTSMTPQ1 {} accepted before the crash")
    elif spoil == "link":
        other.write_bytes(b"QTSMTPQ1 a message")
        other.chmod(0o600)
        os.link(other, slot)
    elif spoil == "group":
        slot.touch(mode=0o600)
        slot.chmod(0o640)
    elif spoil == "directory":
        slot.mkdir()
    elif spoil == "symlink":
        other.touch(mode=0o600)
        slot.symlink_to(other)
    else:
        os.mkfifo(slot, 0o600)
    before = slot.lstat()
    make_spares(queue, 1)
    pool = qpool.SparePool(queue)
    fd = pool.take("0A1", dirs.tmp)
    pool.close()
    assert fd is not None
    try:
        assert os.fstat(fd).st_ino == (queue / qformat.TMP / "0A1").stat().st_ino
        assert os.fstat(fd).st_ino != before.st_ino
    finally:
        os.close(fd)
    [kept] = (queue / qformat.CORRUPT).glob("spare-0000-*")
    assert kept.lstat().st_ino == before.st_ino and pool.set_aside == 1
    if spoil == "content":
        assert kept.read_bytes() == b"QTSMTPQ1 {} accepted before the crash"
    if spoil in ("link", "symlink"):
        assert other.read_bytes() == (b"QTSMTPQ1 a message" if spoil == "link" else b"")
    assert spare_names(queue) == []


def test_an_empty_pool_gives_nothing_and_the_file_is_created(queue, dirs) -> None:
    writer = QueueWriter(queue.parent)
    writer.pool = qpool.SparePool(queue)
    fd = writer.write_tmp("0B1", (b"abc",), dirs.tmp)
    os.close(fd)
    writer.pool.close()
    assert (queue / qformat.TMP / "0B1").read_bytes() == b"abc"
    assert writer.pool.taken == 0 and writer.pool.wanted == 1


def test_hidden_and_foreign_names_are_never_taken(queue, dirs) -> None:
    for name in (".0C1", "4096", "12345", "spare", "00a1"):
        (queue / qformat.SPARE / name).touch(mode=0o600)
    pool = qpool.SparePool(queue)
    assert pool.take("0C2", dirs.tmp) is None
    pool.close()
    assert spare_names(queue) == sorted([".0C1", "4096", "12345", "spare", "00a1"])


# --- making spares -----------------------------------------------------------------------------

def test_a_commit_process_makes_as_many_spares_as_it_used_within_the_limit(queue, dirs) -> None:
    pool = qpool.SparePool(queue, limit=6)
    assert pool.fill(lambda: False) == 0           # nothing used yet: nothing made
    for n in range(4):
        fd = pool.take(f"0D{n}", dirs.tmp)
        assert fd is None                          # empty: the caller creates
    assert pool.fill(lambda: False) == 4
    assert spare_names(queue) == ["0000", "0001", "0002", "0003"]
    for n in range(9):                             # more than the limit
        fd = pool.take(f"0E{n}", dirs.tmp)
        if fd is not None:
            os.close(fd)
    assert pool.fill(lambda: False) == 6 and len(spare_names(queue)) == 6
    for n in range(3):
        os.close(pool.take(f"0F{n}", dirs.tmp))
    free = sorted(set(range(6)) - {int(n) for n in spare_names(queue)})
    make_spares(queue, *free[:2])                  # delivery gave two back meanwhile
    assert pool.fill(lambda: False) == 1           # full at 6: the limit holds
    assert spare_names(queue) == [qpool.slot_name(n) for n in range(6)]
    assert pool.fill(lambda: False) == 0
    pool.close()
    for name in spare_names(queue):
        assert qpool.is_spare((queue / qformat.SPARE / name).lstat())


def test_making_spares_stops_as_soon_as_work_arrives(queue, dirs) -> None:
    pool = qpool.SparePool(queue, limit=50)
    for n in range(20):
        pool.take(f"0G{n:02}", dirs.tmp)
    asked = []
    assert pool.fill(lambda: asked.append(1) or len(asked) > 3) == 3
    assert pool.wanted == 17
    assert pool.fill(lambda: False) == 17 and pool.wanted == 0
    pool.close()


# --- giving back ---------------------------------------------------------------------------------

def test_a_delivered_file_goes_back_empty_into_a_free_slot(queue) -> None:
    active = queue / qformat.ACTIVE / "0H1"
    active.write_bytes(queue_file("0H1"))
    active.chmod(0o600)
    inode = active.stat().st_ino
    (queue / qformat.STATE / "0H1").write_text("{}")
    make_spares(queue, 0, 2)
    returns = qpool.Returns(queue, limit=4)
    qstates.remove(queue, "0H1", spares=returns)
    assert not active.exists() and not (queue / qformat.STATE / "0H1").exists()
    names = spare_names(queue)
    assert len(names) == 3 and all(qpool.is_slot(n) for n in names)
    back = [n for n in names if (queue / qformat.SPARE / n).stat().st_ino == inode]
    assert len(back) == 1 and qpool.is_spare((queue / qformat.SPARE / back[0]).lstat())
    assert returns.give_back(qformat.ACTIVE, "0H1") is False     # gone already


def test_a_full_pool_removes_the_file(queue) -> None:
    make_spares(queue, 0, 1)
    returns = qpool.Returns(queue, limit=2)
    for queue_id in ("0J1", "0J2"):
        path = queue / qformat.ACTIVE / queue_id
        path.write_bytes(queue_file(queue_id))
        assert returns.give_back(qformat.ACTIVE, queue_id)
    assert spare_names(queue) == ["0000", "0001"] and returns.removed == 2
    assert os.listdir(queue / qformat.ACTIVE) == []


def test_a_file_with_another_link_is_never_emptied(queue) -> None:
    """Delivery empties only a file nobody else names (a hard link made by hand, or
    left by a crash, keeps its bytes)."""
    path = queue / qformat.ACTIVE / "0K1"
    path.write_bytes(queue_file("0K1"))
    path.chmod(0o600)
    os.link(path, queue / qformat.CORRUPT / "copy")
    assert qpool.Returns(queue).give_back(qformat.ACTIVE, "0K1")
    assert (queue / qformat.CORRUPT / "copy").read_bytes() == queue_file("0K1")
    assert spare_names(queue) == []


# --- kills between the steps, and recovery ---------------------------------------------------------

def give_back_until(queue: Path, queue_id: str, step: str) -> None:
    """What a give-back leaves when its job is killed after ``step``."""
    hidden = queue / qformat.SPARE / f".{queue_id}"
    os.rename(queue / qformat.ACTIVE / queue_id, hidden)
    if step == "emptied":
        os.truncate(hidden, 0)


@pytest.mark.parametrize("step", ["renamed", "emptied"])
def test_a_give_back_killed_half_way_is_never_taken_nor_delivered_and_goes_at_start(
        queue, dirs, step) -> None:
    path = queue / qformat.ACTIVE / "0L1"
    path.write_bytes(queue_file("0L1"))
    path.chmod(0o600)
    give_back_until(queue, "0L1", step)
    # Not in any state directory: the client job's recovery has nothing to deliver.
    for state in (qformat.INCOMING, qformat.ACTIVE, qformat.DEFERRED):
        assert qstates.listing(queue, state) == []
    pool = qpool.SparePool(queue)
    assert pool.take("0L2", dirs.tmp) is None       # a hidden name is never a spare
    pool.close()
    assert qpool.recover(queue) == (1, 0)
    assert spare_names(queue) == []


def test_recovery_at_start_sets_aside_what_is_not_a_spare_and_keeps_the_spares(queue) -> None:
    make_spares(queue, 0, 3)
    (queue / qformat.SPARE / "0001").write_bytes(b"a message's bytes")
    (queue / qformat.SPARE / "0002").mkdir()
    (queue / qformat.SPARE / ".0M1").write_bytes(b"delivered")
    (queue / qformat.SPARE / "notes").write_text("a person's")
    # The client job's recovery (slots=False) removes only the half given back.
    assert qpool.recover(queue, slots=False) == (1, 0)
    assert spare_names(queue) == ["0000", "0001", "0002", "0003", "notes"]
    assert qpool.recover(queue) == (0, 2)
    assert spare_names(queue) == ["0000", "0003", "notes"]
    kept = sorted(os.listdir(queue / qformat.CORRUPT))
    assert len(kept) == 2 and all(k.startswith("spare-000") for k in kept)
    assert b"a message's bytes" in [(queue / qformat.CORRUPT / k).read_bytes()
                                    for k in kept if (queue / qformat.CORRUPT / k).is_file()]


# --- readers of the queue -------------------------------------------------------------------------

def test_a_reader_whose_file_was_given_back_meanwhile_is_told_it_left(queue) -> None:
    """WRKSMTPQ reads an envelope while the client job gives the file back and a
    commit process fills it with another message: never another message's envelope
    under this ID, but FileNotFoundError (it left the queue)."""
    path = queue / qformat.ACTIVE / "0N1"
    path.write_bytes(queue_file("0N1"))
    path.chmod(0o600)
    with open(path, "rb") as reader:              # opened before the give-back
        give_back_until(queue, "0N1", "emptied")
        hidden = queue / qformat.SPARE / ".0N1"
        hidden.write_bytes(queue_file("0N2"))      # another message in the same file
        assert reader.readline().startswith(qformat.MAGIC)
        with pytest.raises(FileNotFoundError):
            qformat._still_queued(path, reader)
    os.rename(hidden, path.with_name("0N3"))       # a name that is not its ID, still there
    assert qformat.read_envelope(path.with_name("0N3"))["id"] == "0N2"


# --- the commit process --------------------------------------------------------------------------

def test_the_commit_process_takes_spares_and_makes_them_again_when_idle(queue) -> None:
    make_spares(queue, 0, 1, 2, 3, 4)
    commit = CommitProcess(QueueWriter(queue.parent))
    ids = [commit.new_id() for _ in range(8)]

    async def run() -> list[str]:
        await commit.start()
        await asyncio.gather(*(commit.store(i, envelope(i), b"x\r\n") for i in ids))
        # Idle now: it makes as many spares as it used (8), within the limit.
        for _ in range(200):
            if len(spare_names(queue)) == 8:
                break
            await asyncio.sleep(0.05)
        await commit.close()
        return spare_names(queue)

    assert asyncio.run(run()) == [qpool.slot_name(n) for n in range(8)]
    incoming = queue / qformat.INCOMING
    assert sorted(os.listdir(incoming)) == sorted(ids)
    for queue_id in ids:
        assert qformat.read_queue_file(incoming / queue_id) == (envelope(queue_id), b"x\r\n")
        assert stat.S_IMODE((incoming / queue_id).stat().st_mode) == 0o600
    assert os.listdir(queue / qformat.TMP) == []


def test_no_spare_is_made_while_delivery_keeps_the_pool_above_its_low_water(queue, dirs) -> None:
    """A relay whose delivery runs gives back a file for every message it takes: the
    commit processes then make none (each would be a create, the cost the pool saves)."""
    pool = qpool.SparePool(queue, limit=8)
    pool.low_water = 4
    make_spares(queue, *range(6))
    for n in range(2):
        os.close(pool.take(f"0P{n}", dirs.tmp))
    assert pool.fill(lambda: False) == 0 and pool.wanted == 0     # 4 left: enough
    assert len(spare_names(queue)) == 4
    pool._count_after = 0.0                                       # a second later
    os.close(pool.take("0P2", dirs.tmp))
    assert pool.fill(lambda: False) == 1                          # 3 < 4: made again
    pool.close()
