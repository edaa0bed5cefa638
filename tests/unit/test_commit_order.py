"""The commit process's loop (committer.serve) keeps the durability order for every kind
of message, watched from outside as the job sees it.

The frames go in through a pipe, batch after batch: messages whole (M), messages
spooled in pieces (W ... C), one abandoned (A) and one committed without data. An
injected fsync records each file and directory fsync; the answers are read from the
answer pipe as they come AND at the start of every fsync, under one lock, so an answer
written before some fsync is recorded before it. For each message answered 0: its file
was fsynced once while still in tmp/, then a directory fsync of incoming/ started with
the file already renamed there, and only then its answer. Nothing else is in incoming/,
and tmp/ ends empty.
"""

from __future__ import annotations

import os
import select
import stat
import threading
import time
from pathlib import Path

from qtsmtp.queue import format as qformat
from qtsmtp.server.committer import serve

PATIENCE = 30            # seconds, only so that a hang fails the test instead of the run


class Watch:
    """Records ("file", id, renamed yet), ("dir", ids in incoming/ as it starts) and
    ("answer", id, outcome) in the order they happened."""

    def __init__(self, queue: Path, answers_fd: int):
        self.incoming, self.answers_fd = queue / "incoming", answers_fd
        os.set_blocking(answers_fd, False)
        self.lock = threading.Lock()
        self.events: list[tuple] = []
        self._partial = b""
        self.ended = False

    def drain(self) -> None:
        """Record every answer written so far (call with the lock held)."""
        while True:
            try:
                data = os.read(self.answers_fd, 65536)
            except BlockingIOError:
                return
            if not data:
                self.ended = True
                return
            *lines, self._partial = (self._partial + data).split(b"\n")
            for line in lines:
                queue_id, _, outcome = line.decode().partition(" ")
                self.events.append(("answer", queue_id, outcome))

    def fsync(self, fd: int) -> None:
        with self.lock:
            self.drain()
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                self.events.append(("dir", frozenset(os.listdir(self.incoming))))
            else:
                name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
                self.events.append(("file", name, name in os.listdir(self.incoming)))
        os.fsync(fd)

    def read_answers(self) -> None:
        while not self.ended:
            select.select([self.answers_fd], [], [], 0.05)
            with self.lock:
                self.drain()

    def answered(self) -> set[str]:
        with self.lock:
            return {e[1] for e in self.events if e[0] == "answer"}


def envelope(queue_id: str) -> dict:
    return {"id": queue_id, "arrival": "2026-12-05T00:00:00+00:00", "client": "127.0.0.2",
            "client_port": 1025, "helo": "client.test", "protocol": "ESMTP", "sender": "",
            "recipients": ["postmaster"], "written": ["postmaster"], "size": 0,
            "server_job": "000003"}


def frame(queue_id: str, op: str, payload: bytes = b"") -> bytes:
    return b"%s %s %d\n" % (queue_id.encode(), op.encode(), len(payload)) + payload


def whole(queue_id: str) -> bytes:
    return frame(queue_id, "M", qformat.header(envelope(queue_id))
                 + f"Subject: {queue_id}\r\n\r\nbody\r\n".encode())


def test_every_answer_follows_the_fsyncs_that_cover_its_message(tmp_path) -> None:
    qformat.prepare(tmp_path)
    queue = tmp_path / "queue"
    reserved = qformat.reserved_header(envelope("0B1"))
    piece = b"y" * 70_000
    final = qformat.final_header({**envelope("0B1"), "size": 2 * len(piece)}, len(reserved))
    batches = [
        # expected answers, frames
        ({"0A1", "0A2"}, whole("0A1") + frame("0B1", "W", reserved + piece) + whole("0A2")
         + frame("0C1", "W", reserved + piece)),
        ({"0A3", "0B1", "0D1"}, frame("0B1", "W", piece) + frame("0C1", "A") + whole("0A3")
         + frame("0B1", "C", final) + frame("0D1", "C", final)),
        ({"0A4", "0A5"}, whole("0A4") + whole("0A5")),
    ]
    frames_r, frames_w = os.pipe()
    answers_r, answers_w = os.pipe()
    watch = Watch(queue, answers_r)
    server = threading.Thread(target=serve, args=(tmp_path, frames_r, answers_w, watch.fsync),
                              daemon=True)     # a hung loop must not hang the run at exit
    reader = threading.Thread(target=watch.read_answers, daemon=True)
    server.start()
    reader.start()
    try:
        expected: set[str] = set()
        for answers, data in batches:
            os.write(frames_w, data)      # a batch, or two where a read cut it (64 KiB)
            expected |= answers
            deadline = time.monotonic() + PATIENCE
            while watch.answered() != expected:
                assert time.monotonic() < deadline, f"answers {watch.answered()} of {expected}"
                time.sleep(0.01)
    finally:
        os.close(frames_w)                      # the job ends: serve returns
        server.join(PATIENCE)
        os.close(answers_w)
        reader.join(PATIENCE)
        os.close(frames_r)
        os.close(answers_r)
    events = watch.events
    answers = {e[1]: e[2] for e in events if e[0] == "answer"}
    assert len([e for e in events if e[0] == "answer"]) == len(answers)   # once each
    assert answers.pop("0D1").startswith("2 ")        # C without data: ENOENT, not queued
    assert set(answers.values()) == {"0"}
    for queue_id in answers:
        said = events.index(("answer", queue_id, "0"))
        synced = [i for i, e in enumerate(events) if e[:2] == ("file", queue_id)]
        assert len(synced) == 1, f"{queue_id}: fsynced {len(synced)} times"
        assert events[synced[0]][2] is False, f"{queue_id} renamed before its own fsync"
        covering = [i for i, e in enumerate(events[:said])
                    if e[0] == "dir" and queue_id in e[1] and i > synced[0]]
        assert covering, f"{queue_id} answered before a directory fsync that saw it renamed"
    assert sorted(os.listdir(queue / "incoming")) == sorted(answers)
    assert os.listdir(queue / "tmp") == []
    body = qformat.read_queue_file(queue / "incoming" / "0B1")[1]
    assert body == 2 * piece
