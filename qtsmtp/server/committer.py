"""The queue's commit process: a server job's disk work, in a process of its own.

A server job (QTSMTPSRVP) must not say 250 after DATA before the message's file and its
directory entry in incoming/ are fsynced (qtsmtp-queue(5)). Each fsync waits for the
disk, so the job hands every message to its commit process and goes on serving the
other sessions; the commit process writes the messages that arrived meanwhile as one
batch (``queue.commit_batch``: the files fsynced at once, by up to FSYNC_THREADS
threads, its main thread among them, then renamed, then ONE directory fsync for the
batch) and answers for each. It is a process rather than a thread of the job because a
Python thread pays for every system call twice, releasing and taking back the
interpreter lock that the event loop holds nearly all the time: measured here, 20 futex
calls a message, more than all the SMTP traffic's system calls together (the commit
process's own fsync threads, queue.fsynccrew, run while its main thread fsyncs too or
waits for them). As in Postfix, where smtpd hands the message to cleanup, the protocol
process never touches the queue's files.

The next batch is read only once this one is answered: what arrives meanwhile waits in
the pipe. Handing a batch's fsyncs and renames to other threads, so that the main
thread reads and writes the next batch while this one is on the disk (tried: a thread
for the file fsyncs and renames, one for the directory fsync and the answers), cost
20-75 us more CPU a message in hand-offs between threads (futex calls 2.9 -> 16.7 a
message under strace) and gave no steady gain in messages a second on 2 CPUs (0.88 to
1.12 times this loop's with smtp-source -s 10 -d, 0.89 to 0.93 with -s 10, five runs
of bench_throughput). In a fresh block group most of a message's time here is the
kernel's: each fsync about 100 us of CPU (virtio notifications, the wake-up after the
wait), a create about 20.

A message is spooled as it arrives: the job never holds a whole message (a client may
send gigabytes), it hands the commit process the message in pieces, and the commit
process writes each piece into tmp/ID as it comes. The job starts it as
``python -m qtsmtp.server.committer ROOT`` with two pipes:

    job -> commit process   frames: ID OP SIZE LF, then SIZE bytes, OP one of
        M   the whole queue file (a message that fitted in one piece: one write)
        W   the next piece of tmp/ID (the first creates it; it begins with a header
            line reserved for the envelope, qformat.reserved_header)
        C   the final header line, written over the reserved one: then tmp/ID is
            committed like an M message
        A   (SIZE 0) abandoned: tmp/ID is closed and removed, nothing is answered
    commit process -> job   ID 0 LF (durable), or ID ERRNO TEXT LF (not queued)

Pieces of the messages of several sessions interleave on the pipe, each frame whole.
The job writes a piece, then waits while the pipe is full (flow control), so neither
the job nor the commit process ever buffers more than a few pieces, whatever a client
sends; the client waits on TCP meanwhile.

The commit process ends when its input ends, after committing every whole frame it got
and removing the tmp/ files of messages that never got their C: when the job ends or
dies (even by kill -9) nothing of the commit process stays behind, and a message is in
incoming/ only if all of it arrived; an answer that can no longer be sent was never a
250. A job whose commit process dies answers 451 for the messages it was waiting for
and for those it was spooling, and starts a new one for the next message.

The job never waits for a commit process inside its event loop (a waitpid there
stops every session of the job): one it lets go, dead or still ending, is reaped
when the kernel says it has ended (server.childexit), and killed if it has not after
END_TIMEOUT_SECONDS.
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

from qtsmtp.jobs.process import set_process_name
from qtsmtp.queue import format as qformat
from qtsmtp.queue.format import INCOMING, TMP, queue_directory
from qtsmtp.queue.fsynccrew import FsyncCrew
from qtsmtp.queue.writer import Commit, QueueWriter, commit_batch
from qtsmtp.server import childexit
from qtsmtp.store.durable import write_all

PROCESS_NAME = "QTSMTPQCOMMIT"       # in ps and top, beside its job's QTSMTPSRVP
READ_SIZE = 1 << 20                  # whatever arrived while the last batch was on disk
END_TIMEOUT_SECONDS = 30             # an ending process's last batch, on a slow disk
PIECE_SIZE = 64 * 1024               # the job sends a message in pieces of about this
PIPE_HIGH_WATER = 256 * 1024         # the job waits while more is in the pipe's buffer
_FRAME_HEAD = re.compile(rb"([0-9A-F]{1,64}) ([MWCA]) ([0-9]{1,12})\n")
_MAX_HEAD = 80
# The files of a batch are fsynced at once (queue.commit_batch), by up to this many
# threads: a job's batch is the messages of its sessions that ended DATA meanwhile.
FSYNC_THREADS = 16


class ProtocolError(Exception):
    """The job sent something that is not a frame: a bug, never a message to store."""


# --- the commit process ---------------------------------------------------------------

def take_frames(buffer: bytearray) -> list[tuple[str, str, bytes]]:
    """Remove every whole frame from the front of ``buffer`` as (ID, OP, bytes); a
    partial one stays."""
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
        size = int(head.group(3))
        end = newline + 1 + size
        if end > len(buffer):
            break
        frames.append((head.group(1).decode(), head.group(2).decode(),
                       bytes(buffer[newline + 1:end])))
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


class _Spooled:
    """A message being written into tmp/ piece by piece (frames W), until its C or A."""

    __slots__ = ("error", "fd")

    def __init__(self):
        self.fd = -1
        self.error: OSError | None = None


class Spools:
    """The commit process's messages in tmp/ that have not had their C yet."""

    def __init__(self, writer: QueueWriter, tmp_fd: int):
        self.writer, self.tmp_fd = writer, tmp_fd
        self.open: dict[str, _Spooled] = {}

    def write(self, queue_id: str, data: bytes) -> None:
        spooled = self.open.get(queue_id)
        if spooled is None:
            spooled = self.open[queue_id] = _Spooled()
            try:
                spooled.fd = self.writer.write_tmp(queue_id, (), self.tmp_fd)
            except OSError as failure:
                spooled.error = failure
        if spooled.error is not None:
            return                     # answered at its C: the session says 451
        try:
            write_all(spooled.fd, data)
        except OSError as failure:
            spooled.error = failure
            self._drop(queue_id, spooled)

    def commit(self, queue_id: str, header: bytes) -> Commit:
        """The message with its final header, ready for commit_batch (or failed)."""
        spooled = self.open.pop(queue_id, None)
        if spooled is None:
            commit = Commit(queue_id, None)
            commit.error = OSError(errno.ENOENT, "no data arrived for the message")
            return commit
        commit = Commit(queue_id, None, spooled.fd)
        commit.error = spooled.error
        if commit.error is None:
            try:
                if os.pwrite(spooled.fd, header, 0) != len(header):
                    raise OSError(errno.EIO, "short write of the queue file header")
            except OSError as failure:
                commit.error = failure
        if commit.error is not None and spooled.fd >= 0:
            self._drop(queue_id, spooled)
            commit.fd = -1
        return commit

    def abandon(self, queue_id: str) -> None:
        spooled = self.open.pop(queue_id, None)
        if spooled is not None:
            self._drop(queue_id, spooled)

    def abandon_all(self) -> None:
        for queue_id in list(self.open):
            self.abandon(queue_id)

    def _drop(self, queue_id: str, spooled: _Spooled) -> None:
        if spooled.fd >= 0:
            os.close(spooled.fd)
            spooled.fd = -1
            self.writer.discard_tmp(queue_id)


def serve(root: Path, frames_fd: int, answers_fd: int, fsync=os.fsync) -> None:
    """Commit what arrives on ``frames_fd`` until it ends; answer on ``answers_fd``."""
    writer = QueueWriter(root)
    queue = queue_directory(root)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    tmp_fd, incoming_fd = os.open(queue / TMP, flags), os.open(queue / INCOMING, flags)
    spools = Spools(writer, tmp_fd)
    buffer = bytearray()
    # Read into one buffer made once: os.read would make a READ_SIZE bytes object per
    # read (malloc's mmap, mremap to its size, munmap: three system calls a batch).
    chunk = bytearray(READ_SIZE)
    arrived = memoryview(chunk)
    can_answer = True
    crew = FsyncCrew(FSYNC_THREADS)
    try:
        while True:
            count = os.readv(frames_fd, (chunk,))
            if count:
                buffer += arrived[:count]
            batch = []
            for queue_id, op, payload in take_frames(buffer):
                if op == "W":
                    spools.write(queue_id, payload)
                elif op == "M":
                    batch.append(Commit(queue_id, payload))
                elif op == "C":
                    batch.append(spools.commit(queue_id, payload))
                else:
                    spools.abandon(queue_id)
            if batch:
                queued = commit_batch(writer, batch, tmp_fd, incoming_fd, fsync, crew)
                if can_answer:
                    can_answer = _send_all(answers_fd, answer_lines(batch))
                if queued:
                    writer.notify(queued)      # after the answers: sessions wait for them
            if not count:
                return          # the job has ended; a partial frame was never a message
    finally:
        crew.close()
        arrived.release()
        spools.abandon_all()    # never got their C: never acknowledged
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
    """The durable queue of one server job. ``await open(...)`` gives a Spool for one
    message; its ``commit()`` returns once the message is durable in incoming/, and
    raises OSError (the session answers 451) when it is not."""

    def __init__(self, writer: QueueWriter, log=None):
        self.writer = writer
        self.log = log                   # a JobLog: a commit process that died is news
        self._process: subprocess.Popen | None = None
        self._frames: asyncio.WriteTransport | None = None
        self._outgoing: list[bytes] = []      # frames of this turn of the loop
        self._flushing = False
        self._flow: _FlowControl | None = None
        self._answers: _Answers | None = None
        self._closing = False
        # One replacement, however many sessions wait for it; a task of its own, so that
        # a session whose client goes away meanwhile (aiosmtpd cancels its task) stops
        # only its own wait.
        self._replacing: asyncio.Task | None = None
        self._ending: set[asyncio.Task] = set()     # processes let go, reaped when they end

    def new_id(self) -> str:
        return self.writer.new_id()

    async def start(self) -> None:
        """Start the commit process (done before the job serves: a job that cannot
        queue must not listen; done again after the process died)."""
        loop = asyncio.get_running_loop()
        process = subprocess.Popen(
            [sys.executable, "-m", "qtsmtp.server.committer", str(self.writer.queue.parent)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=self.writer.queue)
        answers = _Answers()
        try:
            frames, flow = await loop.connect_write_pipe(_FlowControl, process.stdin)
            frames.set_write_buffer_limits(high=PIPE_HIGH_WATER)
            await loop.connect_read_pipe(lambda: answers, process.stdout)
        except BaseException:
            # It has had no frame: nothing of it is a message. Killed, it ends at once,
            # even if it is still starting, and is reaped when it has.
            process.kill()
            self._let_go(process)
            raise
        # Only now, with both pipes there, is it the one sessions use (_running): a
        # session that asked while it started waits for it (_replacing), where it would
        # have sent frames with no pipe to take them.
        self._process, self._frames, self._flow = process, frames, flow
        self._answers = answers

    async def open(self, queue_id: str, envelope: dict, first: bytes = b"",
                   keep: int = 0) -> Spool:
        """A new message: its queue ID, its envelope (``size`` filled in at commit),
        and the first bytes of the queue file after the header (the Received: line).
        ``keep``: how many octets of what the client sends to keep in memory too
        (Spool.kept, for the exit programs)."""
        await self._running()
        return Spool(self, queue_id, envelope, first, keep)

    async def store(self, queue_id: str, envelope: dict, content: bytes) -> None:
        """One whole message (a caller that has it in memory already)."""
        spool = await self.open(queue_id, envelope)
        await spool.write(content)
        await spool.commit(envelope)

    async def _running(self) -> _Answers:
        if self._closing:
            raise OSError(errno.ESHUTDOWN, "the queue writer has ended")
        if self._answers is None or self._answers.ended:
            if self._replacing is None:
                self._replacing = asyncio.ensure_future(self._replace())
                # Its failure is every waiting session's 451; retrieved even if none waits.
                self._replacing.add_done_callback(
                    lambda task: task.cancelled() or task.exception())
            await asyncio.shield(self._replacing)
            if self._closing:                 # close() came while it started
                raise OSError(errno.ESHUTDOWN, "the queue writer has ended")
        return self._answers

    async def _replace(self) -> None:
        """The next message's commit process, when the last one ended. Its end is
        logged (TCP3042) once it is reaped: it is not waited for here."""
        try:
            ended = self._retire()
            await self.start()
        finally:
            self._replacing = None
        if self.log is not None and ended is not None:
            ended.add_done_callback(self._log_replaced)

    def _log_replaced(self, reaped: asyncio.Task) -> None:
        if not reaped.cancelled():
            self.log.send("TCP3042", reaped.result())

    def _send(self, queue_id: str, op: bytes, *parts: bytes) -> None:
        """Frames sent in one turn of the event loop (the sessions that ended DATA on
        the same wake-up of the job) go in one write, from a callback of the loop's
        next turn, which does not wait (a callback is ready): one system call and one
        wake-up of the commit process for all of them, and one batch, where the first
        frame's own write would wake it for a batch of one while the next followed
        microseconds later. Measured (bench_throughput, -d, same run): commit
        processes 187-220 us a message against 233-307, -s 50 -d 1.29-1.31 times the
        messages a second. A W piece goes at once, with what waits before it: drain()
        measures what the pipe's transport holds."""
        size = sum(map(len, parts))
        self._outgoing.append(b"%s %s %d\n" % (queue_id.encode(), op, size))
        self._outgoing.extend(parts)
        if op == b"W":
            self._flush()
        elif not self._flushing:
            try:
                asyncio.get_running_loop().call_soon(self._flush)
            except RuntimeError:          # no loop runs (a session torn down at the end)
                self._flush()
            else:
                self._flushing = True

    def _flush(self) -> None:
        self._flushing = False
        outgoing, self._outgoing = self._outgoing, []
        if outgoing and self._frames is not None:
            self._frames.writelines(outgoing)

    async def _drain(self) -> None:
        if self._flow is not None:
            await self._flow.drain()

    async def close(self) -> None:
        """After the last session: end the input, let the commit process finish the
        messages it has, wait for it (bounded), then reap it. Every wait here is the
        loop's (never a waitpid in it): a job ends its sessions' last replies meanwhile.
        No message is taken from now on (the sessions say 451); a replacement under way
        is let finish its start first, and is then ended like any other: one process to
        end, and no start that goes on after close() with what close() took away."""
        self._closing = True
        if self._replacing is not None:
            await asyncio.gather(asyncio.shield(self._replacing), return_exceptions=True)
        self._flush()
        if self._frames is not None:
            self._frames.close()
        if self._answers is not None and not self._answers.ended:
            try:
                # Its answers end when it exits.
                await asyncio.wait_for(self._answers.finished.wait(), END_TIMEOUT_SECONDS)
            except TimeoutError:
                self._process.kill()
        self._retire()
        if self._ending:
            await asyncio.gather(*self._ending)

    def _retire(self) -> asyncio.Task | None:
        """Drop the pipes of the current process (its input ends: it ends once it has
        committed what it had) and have it reaped when it ends, without waiting for it
        here: how it ended, once it has (None if there was none)."""
        self._outgoing = []                  # frames for the process that ended
        if self._frames is not None:
            if not self._frames.is_closing():
                self._frames.abort()
            self._frames = None
            self._flow = None
        process, self._process = self._process, None
        return None if process is None else self._let_go(process)

    def _let_go(self, process: subprocess.Popen) -> asyncio.Task:
        reaping = asyncio.ensure_future(childexit.reap(process, END_TIMEOUT_SECONDS))
        self._ending.add(reaping)
        reaping.add_done_callback(self._ending.discard)
        return reaping


class Spool:
    """One message on its way to the queue, spooled as it arrives.

    ``write`` keeps what it is given until about PIECE_SIZE octets are there, then
    hands them to the commit process (waiting while the pipe is full); a message that
    ends before (nearly all) goes over as one M frame at ``commit``, as cheap as a
    message held whole. ``head`` keeps the first HEAD_SIZE octets of the queue file's
    message (the Received: line, then the client's header section, as a rule): what a
    filter or a log needs to know about a message without reading it back."""

    HEAD_SIZE = 64 * 1024

    def __init__(self, process: CommitProcess, queue_id: str, envelope: dict, first: bytes,
                 keep: int):
        self.process, self.queue_id, self.envelope = process, queue_id, envelope
        self.size = len(first)
        self.head = bytearray(first[:self.HEAD_SIZE])
        self.kept = bytearray() if keep else None    # the client's data, for the exits
        self._keep = keep
        self._pending = [first] if first else []
        self._pending_size = len(first)
        # Called with each piece of what the client sends, as it comes: a filter's
        # scanner (config.mimescan) reads the message here without a second copy.
        self.watchers: list = []
        self._answers = process._answers            # the commit process it was opened on
        self._reserved: bytes | None = None          # the header written first, once sent
        self._failed: OSError | None = None
        self.done = False                            # committed or abandoned

    async def write(self, data: bytes) -> None:
        if self.done or self._failed is not None:
            return
        self.size += len(data)
        if len(self.head) < self.HEAD_SIZE:
            self.head += data[:self.HEAD_SIZE - len(self.head)]
        if self.kept is not None and len(self.kept) < self._keep:
            self.kept += data[:self._keep - len(self.kept)]
        for watcher in self.watchers:
            watcher(data)
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= PIECE_SIZE:
            await self._send_pending()
            await self.process._drain()

    async def _send_pending(self) -> None:
        try:
            if self._reserved is None:
                # Nothing of it is with a commit process yet: the current one will do.
                self._answers = await self.process._running()
            elif self._answers is not self.process._answers or self._answers.ended:
                raise OSError(errno.EPIPE, "the queue commit process ended")
        except OSError as failure:
            self._failed = failure        # the session answers 451 at the end of DATA
        else:
            if self._pending:
                parts = self._pending
                if self._reserved is None:
                    self._reserved = qformat.reserved_header(self.envelope)
                    parts = [self._reserved, *parts]
                self.process._send(self.queue_id, b"W", *parts)
        self._pending, self._pending_size = [], 0

    async def commit(self, envelope: dict | None = None) -> None:
        """Return once the message is durable in incoming/; OSError when it is not.
        ``envelope``: the one to write, as given; else the one opened with, with the
        size of what was written."""
        if self.done:
            raise OSError(errno.EINVAL, "the message was committed or abandoned already")
        if self._failed is not None:
            self.done = True
            raise self._failed
        if envelope is None:
            envelope = {**self.envelope, "size": self.size}
        if self._reserved is None:
            # The whole message is here: one frame (a fresh commit process if need be).
            self._answers = await self.process._running()
            parts = [qformat.header(envelope), *self._pending]
            self._pending = []
            future = self._wait()
            self.process._send(self.queue_id, b"M", *parts)
        else:
            await self._send_pending()
            if self._failed is not None:
                self.done = True
                raise self._failed
            future = self._wait()
            self.process._send(self.queue_id, b"C",
                               qformat.final_header(envelope, len(self._reserved)))
        self.done = True
        # A session that goes away meanwhile cancels only its wait: the commit of the
        # file goes on (at worst a duplicate, never a loss).
        await future

    def _wait(self) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._answers.waiting[self.queue_id] = future
        return future

    def abandon(self) -> None:
        """The message will not be queued (refused, too large, the session ended): the
        commit process removes what it has of it. Nothing after commit()."""
        if self.done:
            return
        self.done = True
        self._pending = []
        if (self._reserved is not None and self._answers is self.process._answers
                and not self._answers.ended and self.process._frames is not None):
            self.process._send(self.queue_id, b"A")


class _FlowControl(asyncio.Protocol):
    """The write side of the pipe to the commit process: ``drain()`` waits while the
    transport holds more than its high-water mark."""

    def __init__(self):
        self._paused = False
        self._lost = False
        self._waiters: list[asyncio.Future] = []

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake()

    def connection_lost(self, exc) -> None:
        self._lost = True
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def drain(self) -> None:
        if self._paused and not self._lost:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter


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
