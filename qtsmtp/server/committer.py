"""The queue's commit process: a server job's disk work, in a process of its own.

A server job (QTSMTPSRVP) must not say 250 after DATA before the message's file and its
directory entry in incoming/ are fsynced (qtsmtp-queue(5)). Each fsync waits for the
disk, so the job hands every message to its commit process and goes on serving the
other sessions; the commit process writes the messages that arrived meanwhile as one
batch (``queue.commit_batch``: each file fsynced, renamed, then ONE directory fsync for
the batch) and answers for each. It is a process rather than a thread of the job
because a Python thread pays for every system call twice, releasing and taking back
the interpreter lock that the event loop holds nearly all the time: measured here, 20
futex calls a message, more than all the SMTP traffic's system calls together. As in
Postfix, where smtpd hands the message to cleanup, the protocol process never touches
the queue's files.

The job starts it as ``python -m qtsmtp.server.committer ROOT`` with two pipes:

    job -> commit process   ID SIZE LF, then SIZE bytes: the whole queue file
    commit process -> job   ID 0 LF (durable), or ID ERRNO TEXT LF (not queued)

The commit process ends when its input ends, after committing every whole frame it got:
when the job ends or dies (even by kill -9) nothing of the commit process stays
behind, and a message is in incoming/ only if all of it arrived; an answer that can no
longer be sent was never a 250. A job whose commit process dies answers 451 for the
messages it was waiting for and starts a new one for the next message.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from qtsmtp.queue import format as qformat
from qtsmtp.jobs.process import set_process_name
from qtsmtp.queue.format import INCOMING, TMP, queue_directory
from qtsmtp.queue.writer import Commit, QueueWriter, commit_batch

PROCESS_NAME = "QTSMTPQCOMMIT"       # in ps and top, beside its job's QTSMTPSRVP
READ_SIZE = 1 << 20                  # whatever arrived while the last batch was on disk
END_TIMEOUT_SECONDS = 30             # close(): the last batch's fsyncs, on a slow disk
_FRAME_HEAD = re.compile(rb"([0-9A-F]{1,64}) ([0-9]{1,12})\n")
_MAX_HEAD = 80


class ProtocolError(Exception):
    """The job sent something that is not a frame: a bug, never a message to store."""


# --- the commit process ---------------------------------------------------------------

def take_frames(buffer: bytearray) -> list[Commit]:
    """Remove every whole frame from the front of ``buffer``; a partial one stays."""
    frames = []
    view_start = 0
    while True:
        newline = buffer.find(b"\n", view_start, view_start + _MAX_HEAD)
        if newline < 0:
            if len(buffer) - view_start >= _MAX_HEAD:
                raise ProtocolError(bytes(buffer[view_start:view_start + _MAX_HEAD]))
            break
        head = _FRAME_HEAD.fullmatch(buffer, view_start, newline + 1)
        if head is None:
            raise ProtocolError(bytes(buffer[view_start:newline + 1]))
        size = int(head.group(2))
        end = newline + 1 + size
        if end > len(buffer):
            break
        frames.append(Commit(head.group(1).decode(), bytes(buffer[newline + 1:end])))
        view_start = end
    del buffer[:view_start]
    return frames


def answer_lines(batch: list[Commit]) -> bytes:
    lines = []
    for commit in batch:
        if commit.error is None:
            lines.append(f"{commit.queue_id} 0\n")
        else:
            number = getattr(commit.error, "errno", None) or errno.EIO
            text = getattr(commit.error, "strerror", None) or str(commit.error)
            lines.append(f"{commit.queue_id} {number} {' '.join(text.split())}\n")
    return "".join(lines).encode("utf-8", "replace")


def serve(root: Path, frames_fd: int, answers_fd: int, fsync=os.fsync) -> None:
    """Commit what arrives on ``frames_fd`` until it ends; answer on ``answers_fd``."""
    writer = QueueWriter(root)
    queue = queue_directory(root)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    tmp_fd, incoming_fd = os.open(queue / TMP, flags), os.open(queue / INCOMING, flags)
    buffer = bytearray()
    can_answer = True
    try:
        while True:
            data = os.read(frames_fd, READ_SIZE)
            if data:
                buffer += data
            batch = take_frames(buffer)
            if batch:
                commit_batch(writer, batch, tmp_fd, incoming_fd, fsync)
                if can_answer:
                    can_answer = _send_all(answers_fd, answer_lines(batch))
            if not data:
                return          # the job has ended; a partial frame was never a message
    finally:
        os.close(tmp_fd)
        os.close(incoming_fd)


def _send_all(fd: int, data: bytes) -> bool:
    """False once the job is gone: its sessions are gone too, nobody waits for a 250."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        return False
    return True


def main(argv: list[str]) -> int:
    set_process_name(PROCESS_NAME)
    # Ctrl-C in MODE(*FOREGROUND) reaches the whole process group: the job then ends
    # gracefully, and the messages of the sessions still in DATA need this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        serve(Path(argv[0]), sys.stdin.fileno(), sys.stdout.fileno())
    except ProtocolError as bad:
        print(f"qtsmtp commit process: not a frame: {bad.args[0][:80]!r}", file=sys.stderr)
        return 2
    return 0


# --- the server job's side ------------------------------------------------------------

class CommitProcess:
    """The durable queue of one server job: ``await store(...)`` returns once the
    message is durable in incoming/, and raises OSError (the session answers 451) when
    it is not."""

    def __init__(self, writer: QueueWriter, log=None):
        self.writer = writer
        self.log = log                   # a JobLog: a commit process that died is news
        self._process: subprocess.Popen | None = None
        self._frames: asyncio.WriteTransport | None = None
        self._answers: _Answers | None = None
        self._closing = False
        self._restarting = asyncio.Lock()    # one replacement, however many sessions wait

    def new_id(self) -> str:
        return self.writer.new_id()

    async def start(self) -> None:
        """Start the commit process (done before the job serves: a job that cannot
        queue must not listen; done again after the process died)."""
        loop = asyncio.get_running_loop()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "qtsmtp.server.committer", str(self.writer.queue.parent)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=self.writer.queue)
        self._answers = _Answers()
        self._frames, _ = await loop.connect_write_pipe(asyncio.Protocol, self._process.stdin)
        await loop.connect_read_pipe(lambda: self._answers, self._process.stdout)

    async def store(self, queue_id: str, envelope: dict, content: bytes) -> None:
        if self._closing:
            raise OSError(errno.ESHUTDOWN, "the queue writer has ended")
        if self._answers is None or self._answers.ended:
            async with self._restarting:
                if self._answers is None or self._answers.ended:
                    how = self._abandon()
                    await self.start()
                    if self.log is not None:
                        self.log.send("TCP3042", how)
        header = qformat.header(envelope)
        future = asyncio.get_running_loop().create_future()
        self._answers.waiting[queue_id] = future
        self._frames.writelines((b"%s %d\n" % (queue_id.encode(), len(header) + len(content)),
                                 header, content))
        # A session that goes away meanwhile cancels only its wait: the commit of the
        # file goes on (at worst a duplicate, never a loss).
        await future

    async def close(self) -> None:
        """After the last session: end the input, let the commit process finish the
        messages it has, wait for it (bounded), then reap it."""
        self._closing = True
        if self._frames is not None:
            self._frames.close()
        if self._answers is not None:
            try:
                # Its answers end when it exits.
                await asyncio.wait_for(self._answers.finished.wait(), END_TIMEOUT_SECONDS)
            except asyncio.TimeoutError:
                self._process.kill()
        self._abandon()

    def _abandon(self) -> str:
        """Drop the pipes and reap the process (it has ended, or is killed now);
        how it ended."""
        if self._frames is not None:
            if not self._frames.is_closing():
                self._frames.abort()
            self._frames = None
        if self._process is None:
            return "not started"
        try:
            self._process.wait(timeout=END_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        code, self._process = self._process.returncode, None
        return f"signal {-code} ({signal.Signals(-code).name})" if code < 0 else f"exit status {code}"


class _Answers(asyncio.Protocol):
    """Reads the commit process's answers and settles the sessions' waits."""

    def __init__(self):
        self.waiting: dict[str, asyncio.Future] = {}
        self.ended = False
        self.finished = asyncio.Event()
        self._partial = b""

    def data_received(self, data: bytes) -> None:
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            queue_id, _, outcome = line.decode("utf-8", "replace").partition(" ")
            future = self.waiting.pop(queue_id, None)
            if future is None or future.done():
                continue
            number, _, text = outcome.partition(" ")
            if number == "0":
                future.set_result(None)
            else:
                future.set_exception(OSError(int(number) if number.isdigit() else errno.EIO,
                                             text or "not queued"))

    def connection_lost(self, exc) -> None:
        self.ended = True
        self.finished.set()
        waiting, self.waiting = self.waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(OSError(errno.EPIPE, "the queue commit process ended"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
