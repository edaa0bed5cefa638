"""kill -9 of server jobs while clients are in DATA: no 250 for a message not in the queue."""

from __future__ import annotations

import os
import signal
import smtplib
import threading

from support import children_named, eventually, process_running


def test_kill_the_job_serving_a_session_in_data(server) -> None:
    client = server.in_data("127.0.0.2", b"Subject: doomed\r\nMessage-ID: <doomed@test>\r\n\r\n"
                                         b"half a message\r\n")
    port = client.sock.getsockname()[1]
    pid = eventually(lambda: server.job_serving(port), "the session in a job log")
    committer = eventually(lambda: children_named(pid, "QTSMTPQCOMMIT"), "its commit process")
    assert len(committer) == 1
    os.kill(pid, signal.SIGKILL)
    try:
        client.send(b"the rest\r\n.\r\n")
        code, _ = client.getreply()
    except (smtplib.SMTPServerDisconnected, ConnectionError):
        code = None
    assert code != 250
    assert not any(b"<doomed@test>" in m for m in server.stored_messages())
    # The server goes on with a replacement job. (Until the killed process is gone, the
    # kernel may still queue a connection on its socket, and reset it when it closes.)
    eventually(lambda: not process_running(pid), "killed job gone")
    # Its commit process saw its input end and ended too: nothing is left behind.
    eventually(lambda: not process_running(committer[0]), "the killed job's commit process gone")
    # The job table names a dead job until the supervisor has reaped it: two records
    # then are the dead one and the other, not a replacement.
    eventually(lambda: pid not in (pids := server.job_pids("QTSMTPSRVP")) and len(pids) == 2,
               "replacement job")
    assert server.rcpt_code("127.0.0.2", "postmaster") == 250


def test_every_acknowledged_message_is_in_the_queue_after_kills_under_load(server) -> None:
    acknowledged: dict[str, str] = {}        # Message-ID -> queue id the 250 named
    lock = threading.Lock()
    stop = threading.Event()
    body = b"".join(b"line %04d of a message long enough to be mid-DATA often\r\n" % i
                    for i in range(400))

    def client_loop(source: str) -> None:
        for n in range(2000):                 # bounded; stopped after the last kill
            if stop.is_set():
                return
            message_id = f"<{source}-{n}@load.test>"
            try:
                code, text = server.load_message(source, message_id, body, timeout=30)
            except (smtplib.SMTPException, ConnectionError, OSError):
                continue                      # a killed job: no 250, nothing to check
            if code == 250:
                with lock:
                    acknowledged[message_id] = text.split()[-1].decode()

    threads = [threading.Thread(target=client_loop, args=(f"127.0.1.{i}",)) for i in range(1, 7)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(4):                                   # four kills, spread over the run
            eventually(lambda: len(server.job_pids("QTSMTPSRVP")) == 2, "two server jobs")
            before = len(acknowledged)
            eventually(lambda: len(acknowledged) >= before + 5, "some traffic", limit=60)
            victim = server.job_pids("QTSMTPSRVP")[0]
            os.kill(victim, signal.SIGKILL)
            # Until the supervisor reaps it, the dead job is still in the job table: the
            # next round's "two server jobs" would count it, and its kill would go to a
            # process already dead (one kill fewer than the log is asked to show).
            eventually(lambda victim=victim: victim not in server.job_pids("QTSMTPSRVP"),
                       "the killed job reaped")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert acknowledged, "no message was acknowledged at all"
    # An acknowledged message is in the queue, or the client job already delivered it to
    # the local mailbox (postmaster is local): either way whole. End the server first so
    # nothing moves while we look.
    server.end()
    stored = server.stored_messages()
    for message_id, queue_id in acknowledged.items():
        header = f"Message-ID: {message_id}".encode()
        found = [m for m in stored if header in m]
        assert len(found) == 1, f"{message_id} acknowledged as {queue_id}: found {len(found)} times"
        assert found[0].replace(b"\r\n", b"\n").endswith(b"END-OF-BODY\n"), message_id
    assert server.joblog_text("QTSMTPSRVD").count("ended abnormally (signal 9") >= 4
