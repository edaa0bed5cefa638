"""The server job's durable queue: never a 250 before the fsync that covers the message.

``queue.commit_batch`` does the disk work of a batch; a fake fsync records every step
in order, with what incoming/ held at that moment. For every message the record must
show: its file fsynced while it was still in tmp/, then a directory fsync of incoming/
that saw it there, and only then the answer. One directory fsync serves a whole batch,
and a failed fsync must fail exactly its messages.

``committer.CommitProcess`` is the server job's side: the real commit process, started
and fed through its pipes as a server job does; ``store()`` returning is the moment
the session would send 250.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import stat
import threading
from pathlib import Path

import pytest

from qtsmtp.jobs.joblog import JobLog
from qtsmtp.queue import format as qformat
from qtsmtp.queue.fsynccrew import FsyncCrew
from qtsmtp.queue.writer import Commit, QueueWriter, commit_batch
from qtsmtp.server.committer import CommitProcess, ProtocolError, serve, take_frames


class Recorder:
    """An fsync that records ("file", id, in_incoming) or ("dir", ids in incoming)."""

    def __init__(self, incoming: Path, fail_file: str = "", fail_dir: bool = False):
        self.incoming = incoming
        self.events: list[tuple] = []
        self.lock = threading.Lock()
        self.fail_file = fail_file
        self.fail_dir = fail_dir

    def __call__(self, fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            with self.lock:
                self.events.append(("dir", frozenset(os.listdir(self.incoming))))
            if self.fail_dir:
                raise OSError(5, "Input/output error")
        else:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            with self.lock:
                self.events.append(("file", name, name in os.listdir(self.incoming)))
            if name == self.fail_file:
                raise OSError(28, "No space left on device")
        os.fsync(fd)

    def mark(self, what: str, queue_id: str) -> None:
        with self.lock:
            self.events.append((what, queue_id))


@pytest.fixture
def queue_root(tmp_path) -> Path:
    qformat.prepare(tmp_path)
    return tmp_path


def envelope(queue_id: str) -> dict:
    return {"id": queue_id, "arrival": "2026-11-22T00:00:00+00:00", "client": "127.0.0.2",
            "client_port": 1025, "helo": "client.test", "protocol": "ESMTP", "sender": "",
            "recipients": ["postmaster"], "written": ["postmaster"], "size": 10,
            "server_job": "000003"}


def queue_file(queue_id: str, content: bytes | None = None) -> bytes:
    body = content if content is not None else f"Subject: {queue_id}\r\n\r\nbody\r\n".encode()
    return qformat.header(envelope(queue_id)) + body


class Batches:
    """commit_batch on a queue, with the directories open as the commit process has them."""

    def __init__(self, root: Path, recorder: Recorder, crew=None):
        self.writer = QueueWriter(root)
        self.recorder = recorder
        self.crew = crew
        flags = os.O_RDONLY | os.O_DIRECTORY
        self.tmp_fd = os.open(root / "queue" / "tmp", flags)
        self.incoming_fd = os.open(root / "queue" / "incoming", flags)

    def commit(self, ids: list[str]) -> list[Commit]:
        batch = [Commit(i, queue_file(i)) for i in ids]
        commit_batch(self.writer, batch, self.tmp_fd, self.incoming_fd, self.recorder, self.crew)
        for message in batch:                 # what the job would now answer
            if message.error is None:
                self.recorder.mark("250", message.queue_id)
        return batch

    def close(self) -> None:
        os.close(self.tmp_fd)
        os.close(self.incoming_fd)


def assert_every_250_follows_its_fsyncs(events: list[tuple], ids: list[str]) -> None:
    for queue_id in ids:
        said = events.index(("250", queue_id))
        file_syncs = [i for i, e in enumerate(events) if e[0] == "file" and e[1] == queue_id]
        assert len(file_syncs) == 1, f"{queue_id}: fsynced {len(file_syncs)} times"
        assert events[file_syncs[0]][2] is False, f"{queue_id} renamed before its fsync"
        covering = [i for i, e in enumerate(events[:said])
                    if e[0] == "dir" and queue_id in e[1] and i > file_syncs[0]]
        assert covering, f"250 for {queue_id} before a directory fsync that covers it"


def test_each_250_comes_after_the_fsyncs_that_cover_its_message(queue_root) -> None:
    recorder = Recorder(queue_root / "queue" / "incoming")
    batches = Batches(queue_root, recorder)
    ids = [batches.writer.new_id() for _ in range(40)]
    for start in range(0, 40, 7):                      # batches of 7, the last of 5
        batches.commit(ids[start:start + 7])
    batches.close()
    assert_every_250_follows_its_fsyncs(recorder.events, ids)
    assert len([e for e in recorder.events if e[0] == "dir"]) == 6     # one per batch
    assert sorted(os.listdir(queue_root / "queue" / "incoming")) == sorted(ids)
    assert os.listdir(queue_root / "queue" / "tmp") == []


def test_with_a_crew_each_file_is_fsynced_in_tmp_and_one_directory_fsync_a_batch(queue_root) -> None:
    """The commit process fsyncs a batch's files at once, one thread each: each file is
    still in tmp/ when its fsync runs (renamed only after it), and one directory fsync
    per batch covers the renames, before any 250."""
    recorder = Recorder(queue_root / "queue" / "incoming")
    crew = FsyncCrew(8)
    batches = Batches(queue_root, recorder, crew)
    ids = [batches.writer.new_id() for _ in range(40)]
    for start in range(0, 40, 7):
        batches.commit(ids[start:start + 7])
    batches.close()
    crew.close()
    assert_every_250_follows_its_fsyncs(recorder.events, ids)
    assert len([e for e in recorder.events if e[0] == "dir"]) == 6
    assert all(e[2] is False for e in recorder.events if e[0] == "file")
    assert sorted(os.listdir(queue_root / "queue" / "incoming")) == sorted(ids)


def test_a_failed_file_fsync_with_a_crew_fails_only_that_message(queue_root) -> None:
    writer = QueueWriter(queue_root)
    ids = [writer.new_id() for _ in range(6)]
    recorder = Recorder(queue_root / "queue" / "incoming", fail_file=ids[3])
    crew = FsyncCrew(4)
    batches = Batches(queue_root, recorder, crew)
    batch = batches.commit(ids)
    batches.close()
    crew.close()
    assert isinstance(batch[3].error, OSError) and batch[3].error.errno == 28
    good = ids[:3] + ids[4:]
    assert_every_250_follows_its_fsyncs(recorder.events, good)
    assert sorted(os.listdir(queue_root / "queue" / "incoming")) == sorted(good)
    assert os.listdir(queue_root / "queue" / "tmp") == []


def test_a_file_that_cannot_be_made_fails_only_that_message(queue_root) -> None:
    """A message whose tmp/ file cannot be made (a name taken) fails alone, the file in
    the way stays, the other messages of its batch are durable."""
    writer = QueueWriter(queue_root)
    ids = [writer.new_id() for _ in range(6)]
    in_the_way = queue_root / "queue" / "tmp" / ids[2]
    in_the_way.write_bytes(b"not ours")
    recorder = Recorder(queue_root / "queue" / "incoming")
    crew = FsyncCrew(4)
    batches = Batches(queue_root, recorder, crew)
    batch = batches.commit(ids)
    batches.close()
    crew.close()
    assert isinstance(batch[2].error, FileExistsError)
    assert not any(e[:2] == ("file", ids[2]) for e in recorder.events)
    good = ids[:2] + ids[3:]
    assert all(batch[ids.index(i)].error is None for i in good)
    assert_every_250_follows_its_fsyncs(recorder.events, good)
    assert sorted(os.listdir(queue_root / "queue" / "incoming")) == sorted(good)
    assert os.listdir(queue_root / "queue" / "tmp") == [ids[2]]
    assert in_the_way.read_bytes() == b"not ours"


def test_a_failed_file_fsync_fails_only_that_message(queue_root) -> None:
    writer = QueueWriter(queue_root)
    ids = [writer.new_id() for _ in range(5)]
    recorder = Recorder(queue_root / "queue" / "incoming", fail_file=ids[2])
    batches = Batches(queue_root, recorder)
    batch = batches.commit(ids)
    batches.close()
    assert isinstance(batch[2].error, OSError) and batch[2].error.errno == 28
    assert ("250", ids[2]) not in recorder.events
    good = ids[:2] + ids[3:]
    assert_every_250_follows_its_fsyncs(recorder.events, good)
    assert sorted(os.listdir(queue_root / "queue" / "incoming")) == sorted(good)
    assert os.listdir(queue_root / "queue" / "tmp") == []


def test_a_failed_directory_fsync_fails_the_whole_batch(queue_root) -> None:
    recorder = Recorder(queue_root / "queue" / "incoming", fail_dir=True)
    batches = Batches(queue_root, recorder)
    batch = batches.commit([batches.writer.new_id() for _ in range(4)])
    batches.close()
    assert all(isinstance(m.error, OSError) for m in batch)
    assert not any(e[0] == "250" for e in recorder.events)


def test_messages_that_arrive_together_share_one_directory_fsync(queue_root) -> None:
    """The commit process's loop: what waits in its pipe is one batch."""
    recorder = Recorder(queue_root / "queue" / "incoming")
    ids = [f"0C{n}" for n in range(6)]
    frames_r, frames_w = os.pipe()
    answers_r, answers_w = os.pipe()
    os.write(frames_w, b"".join(b"%s M %d\n" % (i.encode(), len(queue_file(i))) + queue_file(i)
                                for i in ids))
    os.close(frames_w)                                 # then the job ends
    serve(queue_root, frames_r, answers_w, fsync=recorder)
    os.close(answers_w)
    answers = os.read(answers_r, 10_000).decode().splitlines()
    os.close(frames_r)
    os.close(answers_r)
    assert answers == [f"{i} 0" for i in ids]
    directory_syncs = [e for e in recorder.events if e[0] == "dir"]
    assert len(directory_syncs) == 1 and directory_syncs[0][1] == set(ids)


def test_queue_files_are_those_queuewriter_store_writes(queue_root, tmp_path) -> None:
    other = tmp_path / "other"
    qformat.prepare(other)
    content = b"Received: from x\r\n\tby y; date\r\nSubject: s\r\n\r\n" + b"x" * 5000 + b"\r\n"
    commit = CommitProcess(QueueWriter(queue_root))
    queue_id = commit.new_id()

    async def run():
        await commit.start()
        await commit.store(queue_id, envelope(queue_id), content)
        await commit.close()

    asyncio.run(run())
    QueueWriter(other).store(queue_id, envelope(queue_id), content)
    grouped = queue_root / "queue" / "incoming" / queue_id
    single = other / "queue" / "incoming" / queue_id
    assert grouped.read_bytes() == single.read_bytes()
    assert qformat.read_queue_file(grouped) == (envelope(queue_id), content)
    assert stat.S_IMODE(grouped.stat().st_mode) == stat.S_IMODE(single.stat().st_mode) == 0o600


def test_the_commit_process_answers_for_every_message(queue_root) -> None:
    """Many sessions at once, large and small messages: each store returns once its
    message is whole in incoming/, and every message is there exactly once."""
    commit = CommitProcess(QueueWriter(queue_root))
    sizes = [10, 70_000, 3, 2_000_000, 1000] * 12
    ids = [commit.new_id() for _ in sizes]
    incoming = queue_root / "queue" / "incoming"

    async def one(queue_id: str, size: int) -> None:
        content = (b"x" * size)[:size]
        await commit.store(queue_id, envelope(queue_id), content)
        assert qformat.read_queue_file(incoming / queue_id) == (envelope(queue_id), content)

    async def run():
        await commit.start()
        await asyncio.gather(*(one(i, n) for i, n in zip(ids, sizes)))
        await commit.close()

    asyncio.run(run())
    assert sorted(os.listdir(incoming)) == sorted(ids)
    assert os.listdir(queue_root / "queue" / "tmp") == []


def test_one_notify_byte_per_message(queue_root) -> None:
    reader = os.open(queue_root / "queue" / ".notify", os.O_RDONLY | os.O_NONBLOCK)
    try:
        commit = CommitProcess(QueueWriter(queue_root))

        async def run():
            await commit.start()
            await asyncio.gather(*(commit.store(i, envelope(i), b"x\r\n")
                                   for i in [commit.new_id() for _ in range(7)]))
            await commit.close()

        asyncio.run(run())
        assert os.read(reader, 100) == b"m" * 7
    finally:
        os.close(reader)


def test_notify_bytes_wait_in_the_fifo_for_a_delivery_job_that_comes_later(queue_root) -> None:
    """No delivery job reads the FIFO (none started, or it waits for the delivery lock
    a queue runner holds): the commit process keeps the FIFO open all the same, so the
    bytes of its messages are there for the delivery job that opens it later."""
    commit = CommitProcess(QueueWriter(queue_root))

    async def run():
        await commit.start()
        for _ in range(3):          # three batches, each with no reader
            await asyncio.gather(*(commit.store(i, envelope(i), b"x\r\n")
                                   for i in [commit.new_id() for _ in range(2)]))
        # The reader comes; the commit process ends (after its last notify, which
        # follows its last answers): what it wrote stays in the FIFO, held open here.
        reader = os.open(queue_root / "queue" / ".notify", os.O_RDONLY | os.O_NONBLOCK)
        try:
            await commit.close()
            return os.read(reader, 100)
        finally:
            os.close(reader)

    assert asyncio.run(run()) == b"m" * 6
    assert len(os.listdir(queue_root / "queue" / "incoming")) == 6


def test_a_writer_that_may_not_read_the_fifo_opens_it_write_only(queue_root, monkeypatch) -> None:
    fifo = queue_root / "queue" / ".notify"
    real_open = os.open
    refused = []

    def open_as_a_group_member(path, flags, *args, **kwargs):
        if Path(path) == fifo and flags & os.O_ACCMODE == os.O_RDWR:
            refused.append(flags)
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    writer = QueueWriter(queue_root)
    monkeypatch.setattr(os, "open", open_as_a_group_member)
    writer.notify(2)                           # nobody reads: ENXIO, nothing kept
    reader = real_open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        writer.notify(3)
        monkeypatch.undo()
        assert os.read(reader, 100) == b"mmm" and len(refused) == 2
    finally:
        os.close(reader)
        writer.close()


def test_queue_ids_carry_the_pid_of_the_process_that_makes_them_after_a_fork(queue_root) -> None:
    """The pid in a queue ID keeps IDs of different server jobs apart; the jobs are forked
    from the supervisor, and a writer made before the fork must not carry its pid."""
    writer = QueueWriter(queue_root)
    before = writer.new_id()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:                                    # pragma: no cover - the child
        os.write(writing, writer.new_id().encode() + b" " + QueueWriter(queue_root).new_id().encode())
        os._exit(0)
    os.close(writing)
    made_in_child = os.read(reading, 200).decode().split()
    os.close(reading)
    os.waitpid(child, 0)
    assert int(before[14:21], 16) == os.getpid() == int(writer.new_id()[14:21], 16)
    assert [int(queue_id[14:21], 16) for queue_id in made_in_child] == [child, child]


@pytest.mark.parametrize("record", [
    envelope("0F1"),
    {**envelope("0F2"), "sender": "j\u00f6rg@b\u00fccher.example", "helo": "x\ty\"z\\",
     "notify": {"a@b": ["SUCCESS", "DELAY"]}, "size": 2**40, "trusted": False, "ret": None},
])
def test_the_queue_file_header_is_compact_json_as_json_dumps_writes_it(record) -> None:
    import json
    line = qformat.header(record)
    assert line == qformat.MAGIC + json.dumps(record, separators=(",", ":")).encode() + b"\n"
    assert json.loads(line[len(qformat.MAGIC):]) == record


def test_after_close_nothing_is_accepted_and_the_process_is_gone(queue_root) -> None:
    commit = CommitProcess(QueueWriter(queue_root))

    async def run():
        await commit.start()
        pid = commit._process.pid
        await commit.store("A1", envelope("A1"), b"x\r\n")
        await commit.close()
        with pytest.raises(OSError):
            await commit.store("A2", envelope("A2"), b"x\r\n")
        return pid

    pid = asyncio.run(run())
    assert os.listdir(queue_root / "queue" / "incoming") == ["A1"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)                    # ended and reaped


def test_a_dead_commit_process_fails_its_messages_and_is_replaced(queue_root, tmp_path) -> None:
    """kill -9 of the commit process while a message waits: that store fails (the
    session says 451, never 250), the job log says so, the next message is queued."""
    log = JobLog(tmp_path / "000003.QTSMTPSRVP.log")
    commit = CommitProcess(QueueWriter(queue_root), log)

    async def run():
        await commit.start()
        first = commit._process.pid
        os.kill(first, signal.SIGSTOP)     # hold it, so the message is surely waiting
        waiting = asyncio.create_task(commit.store("B1", envelope("B1"), b"x\r\n"))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        os.kill(first, signal.SIGKILL)
        with pytest.raises(OSError) as failed:
            await waiting
        await commit.store("B2", envelope("B2"), b"x\r\n")
        second = commit._process.pid
        await commit.close()
        return failed.value, first, second

    failure, first, second = asyncio.run(run())
    log.close()
    assert failure.errno == errno.EPIPE and first != second
    assert os.listdir(queue_root / "queue" / "incoming") == ["B2"]
    assert "TCP3042" in (tmp_path / "000003.QTSMTPSRVP.log").read_text()


class RecordingPipe:
    """Stands for the job's write end of the pipe to its commit process."""

    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = False

    def writelines(self, parts) -> None:
        assert not self.closed
        self.writes.append(b"".join(parts))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def abort(self) -> None:
        self.closed = True


def test_the_frames_of_one_turn_of_the_loop_go_in_one_write(queue_root) -> None:
    """Sessions that end DATA on the same wake-up of the job: one write, one wake-up of
    the commit process, one batch; a W piece goes at once, after what waits before it."""
    commit = CommitProcess(QueueWriter(queue_root))
    pipe = commit._frames = RecordingPipe()

    async def run():
        commit._send("0C1", b"M", b"abc")
        commit._send("0C2", b"C", b"de")
        assert pipe.writes == []                 # not yet: others may follow this turn
        await asyncio.sleep(0)
        assert pipe.writes == [b"0C1 M 3\nabc0C2 C 2\nde"]
        commit._send("0C3", b"M", b"f")
        commit._send("0C4", b"W", b"gh", b"i")   # at once, and the M before it
        assert pipe.writes[1:] == [b"0C3 M 1\nf0C4 W 3\nghi"]
        await asyncio.sleep(0)
        assert len(pipe.writes) == 2             # nothing sent twice
        commit._send("0C5", b"A")
        await commit.close()                     # what waits goes before the end
        assert pipe.writes[2:] == [b"0C5 A 0\n"] and pipe.closed

    asyncio.run(run())
    assert [frame for write in pipe.writes for frame in take_frames(bytearray(write))] == [
        ("0C1", "M", b"abc"), ("0C2", "C", b"de"), ("0C3", "M", b"f"), ("0C4", "W", b"ghi"),
        ("0C5", "A", b"")]


def test_frames_waiting_for_a_commit_process_that_ended_are_not_sent_to_the_next(
        queue_root) -> None:
    commit = CommitProcess(QueueWriter(queue_root))
    old = commit._frames = RecordingPipe()

    async def run():
        commit._send("0E1", b"M", b"abc")
        commit._retire()                         # it ended: its sessions say 451
        new = commit._frames = RecordingPipe()
        commit._send("0E2", b"M", b"de")
        await asyncio.sleep(0)
        return new

    new = asyncio.run(run())
    assert old.writes == [] and old.closed
    assert new.writes == [b"0E2 M 2\nde"]


def test_a_frame_sent_with_no_loop_running_goes_at_once(queue_root) -> None:
    """A session's coroutine closed after its loop ended (its finally abandons the
    spool) has no next turn of the loop to wait for."""
    commit = CommitProcess(QueueWriter(queue_root))
    pipe = commit._frames = RecordingPipe()
    commit._send("0C6", b"A")
    assert pipe.writes == [b"0C6 A 0\n"]


def test_frames_are_taken_whole_and_a_partial_one_waits() -> None:
    one, two = queue_file("0A"), queue_file("0B", b"y" * 300)
    stream = (b"0A M %d\n" % len(one) + one + b"0B W %d\n" % len(two) + two
              + b"0B C 3\nabc0B A 0\n")
    for cut in (0, 1, 5, len(one) + 3, len(stream) - 1, len(stream)):
        buffer = bytearray(stream[:cut])
        taken = take_frames(buffer)
        buffer += stream[cut:]
        taken += take_frames(buffer)
        assert taken == [("0A", "M", one), ("0B", "W", two), ("0B", "C", b"abc"),
                         ("0B", "A", b"")]
        assert buffer == b""


@pytest.mark.parametrize("bad", [b"../x M 3\nabc", b"0A M -3\n", b"0A M\n", b"0A 3\nabc",
                                 b"0A X 3\nabc", b"x" * 100])
def test_what_is_not_a_frame_is_refused(bad: bytes) -> None:
    with pytest.raises(ProtocolError):
        take_frames(bytearray(bad))


def test_buffered_job_log_loses_nothing_when_unbuffered(tmp_path) -> None:
    log = JobLog(tmp_path / "000003.QTSMTPSRVP.log")

    async def run():
        log.buffer_in(asyncio.get_running_loop())
        for n in range(50):
            log.send("TCP3054", f"127.0.0.2:{1000 + n}")

    asyncio.run(run())          # the loop ends before the flush timer fires
    log.unbuffer()
    log.send("TCP3054", "127.0.0.2:2000")      # written at once again
    lines = (tmp_path / "000003.QTSMTPSRVP.log").read_text().splitlines()
    assert len(lines) == 51 and lines[-1].endswith("127.0.0.2:2000 session ended.")
    log.close()


def test_buffered_job_log_takes_other_threads_lines_at_once(tmp_path) -> None:
    path = tmp_path / "000003.QTSMTPSRVP.log"
    log = JobLog(path)

    async def run():
        log.buffer_in(asyncio.get_running_loop())
        log.send("TCP3054", "127.0.0.2:1000")                      # buffered
        worker = threading.Thread(target=log.send, args=("TCP3054", "127.0.0.2:2000"))
        worker.start()
        worker.join()
        return path.read_text()

    seen_while_buffered = asyncio.run(run())
    log.unbuffer()
    assert "127.0.0.2:2000" in seen_while_buffered and "127.0.0.2:1000" not in seen_while_buffered
    assert len(path.read_text().splitlines()) == 2
    log.close()


def test_a_message_spooled_in_pieces_is_the_file_a_whole_one_makes(queue_root, tmp_path) -> None:
    """Pieces go to tmp/ as they come (W frames, a reserved header), the final header
    goes over the reserved one at commit: the same queue file as QueueWriter.store,
    but for blanks after the envelope."""
    commit = CommitProcess(QueueWriter(queue_root))
    queue_id = commit.new_id()
    record = {**envelope(queue_id), "size": 0}
    first, pieces = b"Received: from x\r\n", [bytes([65 + n % 26]) * 50_000 for n in range(40)]
    tmp = queue_root / "queue" / "tmp"

    async def run():
        await commit.start()
        spool = await commit.open(queue_id, record, first)
        for piece in pieces:
            await spool.write(piece)
        on_disk = os.listdir(tmp)            # before the end of DATA: in tmp/ already
        await spool.commit()
        await commit.close()
        return on_disk

    assert asyncio.run(run()) == [queue_id]
    content = first + b"".join(pieces)
    written, message = qformat.read_queue_file(queue_root / "queue" / "incoming" / queue_id)
    assert message == content and written == {**record, "size": len(content)}
    assert os.listdir(tmp) == []


def test_abandoned_and_unfinished_spools_leave_nothing_in_tmp(queue_root) -> None:
    """A refused message (A frame), and one whose job ended before its end (the pipe
    closes: kill -9 of the job looks the same to the commit process)."""
    commit = CommitProcess(QueueWriter(queue_root))

    async def run():
        await commit.start()
        refused = await commit.open("0D1", envelope("0D1"))
        unfinished = await commit.open("0D2", envelope("0D2"))
        for spool in (refused, unfinished):
            await spool.write(b"y" * 200_000)
        refused.abandon()
        await commit.store("0D3", envelope("0D3"), b"x\r\n")   # after the A: it is done
        assert sorted(os.listdir(queue_root / "queue" / "tmp")) == ["0D2"]
        await commit.close()

    asyncio.run(run())
    assert os.listdir(queue_root / "queue" / "tmp") == []
    assert os.listdir(queue_root / "queue" / "incoming") == ["0D3"]


def test_a_commit_process_that_dies_mid_message_fails_that_message(queue_root) -> None:
    """Pieces already with a dead commit process are lost with it: that message gets
    an OSError at commit (451), never a 250 for a partial file; the next is queued."""
    commit = CommitProcess(QueueWriter(queue_root))

    async def run():
        await commit.start()
        spool = await commit.open("0E1", envelope("0E1"))
        await spool.write(b"z" * 200_000)
        victim = commit._process.pid
        os.kill(victim, signal.SIGKILL)
        while not commit._answers.ended:
            await asyncio.sleep(0.01)
        await spool.write(b"z" * 200_000)
        with pytest.raises(OSError):
            await spool.commit()
        await commit.store("0E2", envelope("0E2"), b"x\r\n")
        await commit.close()

    asyncio.run(run())
    assert os.listdir(queue_root / "queue" / "incoming") == ["0E2"]


@pytest.mark.parametrize("runner", ["asyncio", "uvloop"])
def test_messages_sent_while_a_dead_commit_process_is_replaced_are_queued(queue_root, runner) -> None:
    """kill -9 of the commit process, then several sessions end DATA at once: the first
    starts the replacement; the others, asking while it starts, must wait for it and go
    to it. (Review of e8f70e9: they were handed the replacement before its pipe was
    there, so their frames were dropped and their commits waited for an answer that
    never came, until the client's timeout: no 250, no 451, no message.)"""
    import uvloop
    commit = CommitProcess(QueueWriter(queue_root))
    ids = ["0F1", "0F2", "0F3"]

    async def run():
        await commit.start()
        os.kill(commit._process.pid, signal.SIGKILL)
        await commit._answers.finished.wait()
        stores = [commit.store(queue_id, envelope(queue_id), b"x\r\n") for queue_id in ids]
        # Bounded only so that a hang fails the test instead of stopping the run.
        await asyncio.wait_for(asyncio.gather(*stores), 30)
        await commit.close()

    (asyncio.run if runner == "asyncio" else uvloop.run)(run())
    assert sorted(os.listdir(queue_root / "queue" / "incoming")) == ids
