"""kill -9 of a server job's queue commit process (QTSMTPQCOMMIT) under real SMTP clients.

The contract (qtsmtp-queue(5), qtsmtp-server(8)): a client hears 250 only once its
message is whole in incoming/ and the directory fsync that covers it has returned; a
session waiting for a commit process that dies hears 451, never nothing; the job starts
a new commit process for the next message (TCP3042); nothing in the queue is torn.
"""

from __future__ import annotations

import fcntl
import os
import signal
import smtplib
import termios
import threading

from support import children_named, eventually, process_running

BODY = b"".join(b"line %04d of a message long enough to be mid-DATA often\r\n" % i
                for i in range(400))


def _waiting_in_pipe(pid: int) -> int:
    """Bytes the job has written to commit process ``pid`` that it has not read."""
    try:
        fd = os.open(f"/proc/{pid}/fd/0", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return 0
    try:
        return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little")
    finally:
        os.close(fd)


def _state(pid: int) -> str:
    """The process's state letter in /proc/PID/stat (T: stopped by a signal)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def _commit_processes(server) -> dict[int, list[int]]:
    return {job: children_named(job, "QTSMTPQCOMMIT")
            for job in server.job_pids("QTSMTPSRVP")}


def test_a_session_waiting_for_a_killed_commit_process_hears_451(server) -> None:
    client = server.in_data("127.0.0.2", b"Subject: waits\r\nMessage-ID: <waits@test>\r\n\r\n"
                                         b"body\r\n")
    port = client.sock.getsockname()[1]
    job = eventually(lambda: server.job_serving(port), "the session in a job log")
    committer = eventually(lambda: children_named(job, "QTSMTPQCOMMIT"), "its commit process")[0]
    # Stopped, it cannot answer: the end of DATA reaches its pipe and the session waits.
    # Stopped for good before the end of DATA goes: a process asleep in its read, woken
    # by SIGSTOP, takes what is in the pipe first if it gets there before it runs.
    os.kill(committer, signal.SIGSTOP)
    try:
        eventually(lambda: _state(committer) in ("T", "t"), "the commit process stopped")
        client.send(b".\r\n")
        eventually(lambda: _waiting_in_pipe(committer), "the message handed to the commit process")
    finally:
        os.kill(committer, signal.SIGKILL)
    code, text = client.getreply()
    assert code == 451, (code, text)
    client.quit()
    eventually(lambda: not process_running(committer), "the killed commit process gone")
    assert not any(b"<waits@test>" in m for m in server.stored_messages())
    # The job whose commit process died takes its next message with a new one, which
    # its log names. (Which job a connection reaches is the kernel's choice: bounded
    # tries until one reaches it.)
    for n in range(60):
        again = server.smtp("127.0.0.2")
        port = again.sock.getsockname()[1]
        served_by = eventually(lambda port=port: server.job_serving(port),
                               "the session in a job log")
        again.mail("<>")
        again.rcpt("postmaster")
        assert again.data(f"Message-ID: <after-{n}@test>\r\n\r\nbody\r\n".encode())[0] == 250
        again.quit()
        if served_by == job:
            break
    else:
        raise AssertionError("no connection reached the job in 60 tries")
    assert [m for m in server.stored_messages() if f"<after-{n}@test>".encode() in m]
    replacement = eventually(lambda: children_named(job, "QTSMTPQCOMMIT"), "a new commit process")
    assert committer not in replacement
    assert "TCP3042" in server.joblog_shows("TCP3042", "QTSMTPSRVP")


def test_every_250_is_whole_in_the_queue_after_commit_process_kills_under_load(server) -> None:
    acknowledged: dict[str, str] = {}        # Message-ID -> the queue id its 250 named
    replies: dict[int, int] = {}             # reply code after DATA -> how many
    hung: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(source: str) -> None:
        for n in range(2000):                 # bounded; stopped after the last kill
            if stop.is_set():
                return
            message_id = f"<{source}-{n}@load.test>"
            try:
                code, text = server.load_message(source, message_id, BODY, timeout=60)
            except TimeoutError:
                with lock:
                    hung.append(message_id)    # no reply at all: what must never be
                continue
            except (smtplib.SMTPException, ConnectionError, OSError):
                continue
            with lock:
                replies[code] = replies.get(code, 0) + 1
                if code == 250:
                    acknowledged[message_id] = text.split()[-1].decode()

    threads = [threading.Thread(target=client_loop, args=(f"127.0.1.{i}",)) for i in range(1, 9)]
    for thread in threads:
        thread.start()
    kills = 0
    try:
        for _ in range(4):                                   # four kills, spread over the run
            before = len(acknowledged)
            eventually(lambda before=before: len(acknowledged) >= before + 10, "some traffic",
                       limit=60)
            running = eventually(lambda: [(job, pids[0]) for job, pids in
                                          _commit_processes(server).items() if pids],
                                 "a commit process")
            job, victim = running[kills % len(running)]
            os.kill(victim, signal.SIGKILL)
            kills += 1
            eventually(lambda victim=victim: not process_running(victim),
                       "the killed commit process gone")
            # The job starts a new one for its next message.
            eventually(lambda job=job, victim=victim: [
                p for p in children_named(job, "QTSMTPQCOMMIT") if p != victim],
                "a new commit process", limit=60)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
    assert not hung, f"sessions that never heard back: {hung[:5]}"
    assert set(replies) <= {250, 451}, replies
    assert acknowledged, "no message was acknowledged at all"
    server.end()                             # nothing moves while we look
    stored = server.stored_messages()
    for message_id, queue_id in acknowledged.items():
        header = f"Message-ID: {message_id}".encode()
        found = [m for m in stored if header in m]
        assert len(found) == 1, f"{message_id} acknowledged as {queue_id}: found {len(found)} times"
    ours = [m for m in stored if b"@load.test>" in m]
    torn = [m[:200] for m in ours if not m.replace(b"\r\n", b"\n").endswith(b"END-OF-BODY\n")]
    assert not torn, torn
    assert server.joblog_text("QTSMTPSRVP").count("TCP3042") >= kills
