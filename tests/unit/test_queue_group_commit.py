"""The server job's group commit (queue.GroupCommit): never a 250 before the fsync that
covers the message.

A fake fsync records every step in order, with what incoming/ held at that moment; a
message's store() returning is the moment its session would send 250. For every message
the record must show: its file fsynced while it was still in tmp/, then a directory fsync
of incoming/ that saw it there, then the return. Batches must really form (one directory
fsync for several messages), and a failed fsync must fail exactly its messages.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from pathlib import Path

import pytest

from qtsmtp.server import queue as mailqueue
from qtsmtp.server.joblog import JobLog
from qtsmtp.server.queue import GroupCommit, QueueWriter, read_message

POLL_LIMIT = 2000            # bounded polls of 10 ms: 20 s at most


class Recorder:
    """An fsync that records ("file", id, in_incoming) or ("dir", ids in incoming)."""

    def __init__(self, incoming: Path, fail_file: str = "", fail_dir: bool = False):
        self.incoming = incoming
        self.events: list[tuple] = []
        self.lock = threading.Lock()
        self.fail_file = fail_file
        self.fail_dir = fail_dir
        self.hold_first = None           # threading.Event: the first file fsync waits on it
        self.entered = threading.Event()

    def __call__(self, fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            with self.lock:
                self.events.append(("dir", frozenset(os.listdir(self.incoming))))
            if self.fail_dir:
                raise OSError(5, "Input/output error")
        else:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            if self.hold_first is not None and not self.entered.is_set():
                self.entered.set()
                assert self.hold_first.wait(20)
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
    mailqueue.prepare(tmp_path)
    return tmp_path


def envelope(queue_id: str) -> dict:
    return {"id": queue_id, "arrival": "2026-11-22T00:00:00+00:00", "client": "127.0.0.2",
            "client_port": 1025, "helo": "client.test", "protocol": "ESMTP", "sender": "",
            "recipients": ["postmaster"], "written": ["postmaster"], "size": 10,
            "server_job": "000003"}


async def store_and_mark(commit: GroupCommit, recorder: Recorder, queue_id: str) -> None:
    await commit.store(queue_id, envelope(queue_id), f"Subject: {queue_id}\r\n\r\nbody\r\n".encode())
    recorder.mark("250", queue_id)          # what the session would now send


def assert_every_250_follows_its_fsyncs(events: list[tuple], ids: list[str]) -> None:
    for queue_id in ids:
        said = events.index(("250", queue_id))
        file_syncs = [i for i, e in enumerate(events) if e[0] == "file" and e[1] == queue_id]
        assert len(file_syncs) == 1, f"{queue_id}: fsynced {len(file_syncs)} times"
        assert events[file_syncs[0]][2] is False, f"{queue_id} renamed before its fsync"
        covering = [i for i, e in enumerate(events[:said])
                    if e[0] == "dir" and queue_id in e[1] and i > file_syncs[0]]
        assert covering, f"250 for {queue_id} before a directory fsync that covers it"


async def poll(condition, what: str) -> None:
    for _ in range(POLL_LIMIT):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def test_each_250_comes_after_the_fsyncs_that_cover_its_message(queue_root) -> None:
    recorder = Recorder(queue_root / "queue" / "incoming")
    commit = GroupCommit(QueueWriter(queue_root), fsync=recorder)
    ids = [commit.new_id() for _ in range(40)]

    async def run():
        await asyncio.gather(*(store_and_mark(commit, recorder, i) for i in ids))

    asyncio.run(run())
    commit.close()
    assert_every_250_follows_its_fsyncs(recorder.events, ids)
    assert sorted(os.listdir(queue_root / "queue" / "incoming")) == sorted(ids)
    assert os.listdir(queue_root / "queue" / "tmp") == []


def test_messages_that_wait_share_one_directory_fsync(queue_root) -> None:
    recorder = Recorder(queue_root / "queue" / "incoming")
    recorder.hold_first = threading.Event()
    commit = GroupCommit(QueueWriter(queue_root), fsync=recorder)
    ids = [commit.new_id() for _ in range(6)]

    async def run():
        first = asyncio.create_task(store_and_mark(commit, recorder, ids[0]))
        await poll(recorder.entered.is_set, "the first batch in its file fsync")
        rest = [asyncio.create_task(store_and_mark(commit, recorder, i)) for i in ids[1:]]
        await poll(lambda: len(commit._pending) == 5, "five messages waiting")
        assert not any(e[0] == "250" for e in recorder.events)
        recorder.hold_first.set()
        await asyncio.gather(first, *rest)

    asyncio.run(run())
    commit.close()
    directory_syncs = [e for e in recorder.events if e[0] == "dir"]
    assert len(directory_syncs) == 2                      # [first], then the five together
    assert directory_syncs[1][1] >= set(ids)
    assert_every_250_follows_its_fsyncs(recorder.events, ids)


def test_a_failed_file_fsync_fails_only_that_message(queue_root) -> None:
    writer = QueueWriter(queue_root)
    ids = [writer.new_id() for _ in range(5)]
    recorder = Recorder(queue_root / "queue" / "incoming", fail_file=ids[2])
    commit = GroupCommit(writer, fsync=recorder)

    async def run():
        return await asyncio.gather(*(store_and_mark(commit, recorder, i) for i in ids),
                                    return_exceptions=True)

    results = asyncio.run(run())
    commit.close()
    assert isinstance(results[2], OSError) and results[2].errno == 28
    assert ("250", ids[2]) not in recorder.events
    good = ids[:2] + ids[3:]
    assert_every_250_follows_its_fsyncs(recorder.events, good)
    assert sorted(os.listdir(queue_root / "queue" / "incoming")) == sorted(good)
    assert os.listdir(queue_root / "queue" / "tmp") == []


def test_a_failed_directory_fsync_fails_the_whole_batch(queue_root) -> None:
    recorder = Recorder(queue_root / "queue" / "incoming", fail_dir=True)
    commit = GroupCommit(QueueWriter(queue_root), fsync=recorder)
    ids = [commit.new_id() for _ in range(4)]

    async def run():
        return await asyncio.gather(*(store_and_mark(commit, recorder, i) for i in ids),
                                    return_exceptions=True)

    results = asyncio.run(run())
    commit.close()
    assert all(isinstance(r, OSError) for r in results)
    assert not any(e[0] == "250" for e in recorder.events)


def test_queue_files_are_those_queuewriter_store_writes(queue_root, tmp_path) -> None:
    other = tmp_path / "other"
    mailqueue.prepare(other)
    content = b"Received: from x\r\n\tby y; date\r\nSubject: s\r\n\r\n" + b"x" * 5000 + b"\r\n"
    commit = GroupCommit(QueueWriter(queue_root))
    queue_id = commit.new_id()
    asyncio.run(commit.store(queue_id, envelope(queue_id), content))
    commit.close()
    QueueWriter(other).store(queue_id, envelope(queue_id), content)
    grouped = queue_root / "queue" / "incoming" / queue_id
    single = other / "queue" / "incoming" / queue_id
    assert grouped.read_bytes() == single.read_bytes()
    assert read_message(grouped) == (envelope(queue_id), content)
    assert stat.S_IMODE(grouped.stat().st_mode) == stat.S_IMODE(single.stat().st_mode) == 0o600


def test_one_notify_byte_per_message(queue_root) -> None:
    reader = os.open(queue_root / "queue" / ".notify", os.O_RDONLY | os.O_NONBLOCK)
    try:
        commit = GroupCommit(QueueWriter(queue_root))

        async def run():
            await asyncio.gather(*(commit.store(i, envelope(i), b"x\r\n")
                                   for i in [commit.new_id() for _ in range(7)]))

        asyncio.run(run())
        commit.close()
        assert os.read(reader, 100) == b"m" * 7
    finally:
        os.close(reader)


def test_after_close_nothing_is_accepted(queue_root) -> None:
    commit = GroupCommit(QueueWriter(queue_root))

    async def run():
        await commit.store("A1", envelope("A1"), b"x\r\n")
        commit.close()
        with pytest.raises(OSError):
            await commit.store("A2", envelope("A2"), b"x\r\n")

    asyncio.run(run())
    assert os.listdir(queue_root / "queue" / "incoming") == ["A1"]


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
