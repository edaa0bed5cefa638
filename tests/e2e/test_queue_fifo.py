"""The queue's FIFO (queue/.notify, qtsmtp-queue(5)) removed or replaced under a running server.

A server job's commit process wakes the delivery job (QTSMTPCLTD) with a byte in the
FIFO for each message it puts in incoming/; an idle delivery job blocks in read() on
it. Both hold the FIFO open, so a FIFO removed or replaced at its path (an operator's
clean-up, a restore, a delivery job that started again and made a new one) must not
leave the two on different FIFOs: a message accepted with 250 would then wait in
incoming/ until something else woke the delivery job (a retry falling due; with none,
for ever). Each test makes the delivery job idle first (DEQW: blocked in its read),
then sends one message with smtplib and waits for it to leave incoming/; the bound
only ends a failing test.
"""

from __future__ import annotations

import os
import signal

from support import eventually, process_running

from qtsmtp.jobs import procstat

WAIT_LIMIT = 60.0


def fifo(server):
    return server.root / "queue" / ".notify"


def delivery_job_idle(server) -> int:
    pid = eventually(lambda: [p for p in server.job_pids("QTSMTPCLTD") if process_running(p)],
                     "a delivery job")[0]
    eventually(lambda: procstat.status(pid) == "DEQW", "the delivery job idle in its read")
    return pid


def send(server, tag: str) -> str:
    client = server.smtp("127.0.0.2")
    client.mail("<>")
    client.rcpt("postmaster")
    code, text = client.data(f"Message-ID: <{tag}@fifo.test>\r\n\r\nbody\r\n".encode())
    client.quit()
    assert code == 250, (code, text)
    return text.split()[-1].decode()


def leaves_incoming(server, queue_id: str) -> None:
    incoming = server.root / "queue" / "incoming" / queue_id
    eventually(lambda: not incoming.exists(), f"{queue_id} taken from incoming/ by the "
               "delivery job", limit=WAIT_LIMIT)


def through_every_job(server, tag: str) -> None:
    """A message through each server job, so that every commit process has the FIFO
    open (it opens it at its first message). Which job a connection reaches is the
    kernel's choice: bounded tries."""
    jobs = set(server.job_pids("QTSMTPSRVP"))
    served = set()
    for n in range(60):
        client = server.smtp("127.0.0.2")
        port = client.sock.getsockname()[1]
        client.mail("<>")
        client.rcpt("postmaster")
        assert client.data(f"Message-ID: <{tag}-{n}@fifo.test>\r\n\r\nx\r\n".encode())[0] == 250
        client.quit()
        served.add(eventually(lambda port=port: server.job_serving(port), "the session's job"))
        if served >= jobs:
            return
    raise AssertionError("a server job never took a connection in 60 tries")


def test_replaced_while_the_delivery_job_waits_on_the_old_one(server) -> None:
    """rm + mkfifo while both sides run, before a commit process has opened it: the
    commit process opens the new FIFO, the idle delivery job reads the old one."""
    delivery_job_idle(server)
    fifo(server).unlink()
    os.mkfifo(fifo(server), 0o600)
    leaves_incoming(server, send(server, "replaced"))
    server.joblog_shows("TCP3081", "QTSMTPCLTD")


def test_removed_while_the_server_runs(server) -> None:
    """rm alone: a commit process that opens it next finds no FIFO to write to."""
    delivery_job_idle(server)
    fifo(server).unlink()
    leaves_incoming(server, send(server, "removed"))
    assert fifo(server).exists()                 # the delivery job made it again
    server.joblog_shows("TCP3081", "QTSMTPCLTD")


def test_the_delivery_job_started_again_on_a_new_fifo(server) -> None:
    """Every commit process holds the FIFO; it is removed, and the delivery job dies and
    is replaced: the new one makes a new FIFO and waits on it."""
    through_every_job(server, "before")
    old_job = delivery_job_idle(server)
    fifo(server).unlink()
    os.kill(old_job, signal.SIGKILL)
    eventually(lambda: [p for p in server.job_pids("QTSMTPCLTD")
                        if p != old_job and process_running(p)], "a new delivery job")
    new_job = delivery_job_idle(server)
    assert new_job != old_job and fifo(server).exists()
    leaves_incoming(server, send(server, "after"))


def test_a_regular_file_put_at_its_path_is_not_written_to(server) -> None:
    """Something other than a FIFO at the path (a file a restore put there): the commit
    processes and the delivery job must not open it as their FIFO (a held regular file
    takes the bytes for ever, and reads as end-of-file at once: the delivery job would
    spin); the delivery job still lists incoming/ at least every few seconds."""
    through_every_job(server, "before")
    delivery_job_idle(server)
    fifo(server).unlink()
    fifo(server).write_bytes(b"")
    leaves_incoming(server, send(server, "regular"))
    leaves_incoming(server, send(server, "regular-again"))
    assert fifo(server).read_bytes() == b""
    delivery_job_idle(server)                   # waiting in its read, not spinning


def test_a_symlink_put_at_its_path_is_not_followed(server, tmp_path) -> None:
    """A symlink at the path to some file: writing the FIFO's bytes through it would
    overwrite that file's first bytes."""
    through_every_job(server, "before")
    delivery_job_idle(server)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    fifo(server).unlink()
    fifo(server).symlink_to(victim)
    leaves_incoming(server, send(server, "symlink"))
    assert victim.read_bytes() == b"precious"


def test_a_delivery_job_started_with_a_regular_file_at_its_path(server) -> None:
    """The delivery job starts again while a regular file is at the path: it does not
    hold that file (asyncio cannot wait on one: the job ended with a traceback at its
    first message, again at each start), and still lists incoming/."""
    old_job = delivery_job_idle(server)
    fifo(server).unlink()
    fifo(server).write_bytes(b"")
    os.kill(old_job, signal.SIGKILL)
    eventually(lambda: [p for p in server.job_pids("QTSMTPCLTD")
                        if p != old_job and process_running(p)], "a new delivery job")
    new_job = delivery_job_idle(server)
    leaves_incoming(server, send(server, "after"))
    assert fifo(server).read_bytes() == b""
    assert process_running(new_job) and "Traceback" not in server.joblog_text("QTSMTPCLTD")
