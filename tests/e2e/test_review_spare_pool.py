"""Review of the spare pool (qtsmtp.queue.pool, qfiles's) under kill -9 with messages
of very different sizes: a file given back by delivery and taken for the next message
must carry that message's bytes and nothing of an old, longer one; no acknowledged
message is lost, and the server job (QTSMTPSRVP) is killed too, not only the client job
and the commit processes."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import smtplib
import subprocess
import threading
import time
from contextlib import contextmanager

from support import children_named, eventually

from qtsmtp.queue import pool as qpool

MESSAGE_ID = re.compile(rb"^Message-ID: <([^>]+)>\r?$", re.MULTILINE)


def body_of(message_id: str) -> bytes:
    """Long and short in turn (about 120 KB, or one line), each line naming the message:
    a short message in the file of a long one would show the long one's lines."""
    digest = hashlib.sha256(message_id.encode()).hexdigest()
    count = 2000 if int(digest[:2], 16) % 2 else 1
    return b"".join(b"%s line %05d %s\r\n" % (message_id.encode(), i, digest.encode())
                    for i in range(count)) + b"END " + message_id.encode() + b"\r\n"


def send_until(server, source: str, stop, acknowledged: set, lock) -> None:
    for n in range(400):                          # bounded; stopped after the last kill
        if stop.is_set():
            return
        message_id = f"{source}-{n}@review.test"
        try:
            client = smtplib.SMTP("127.0.0.1", server.port, source_address=(source, 0),
                                  timeout=30)
            client.ehlo("review.test")
            client.mail("<>")
            client.rcpt("postmaster")
            code, _ = client.data(f"Message-ID: <{message_id}>\r\n\r\n".encode()
                                  + body_of(message_id))
            client.quit()
        except (smtplib.SMTPException, ConnectionError, OSError):
            continue                              # a killed process: no 250, nothing to check
        if code == 250:
            with lock:
                acknowledged.add(message_id)


def test_reused_files_carry_only_their_own_message_through_kills(server) -> None:
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    threads = [threading.Thread(target=send_until,
                                args=(server, f"127.0.3.{i}", stop, acknowledged, lock))
               for i in range(1, 5)]
    for thread in threads:
        thread.start()
    client_job_kills = 0
    victims = ("QTSMTPCLTD", "QTSMTPSRVP", "QTSMTPQCOMMIT")
    try:
        for round_number in range(6):
            eventually(lambda: len(server.job_pids("QTSMTPCLTD")) == 1, "the client job")
            eventually(lambda: len(server.job_pids("QTSMTPSRVP")) >= 1, "a server job")
            before = len(acknowledged)
            eventually(lambda before=before: len(acknowledged) >= before + 10, "some traffic",
                       limit=90)
            victim = victims[round_number % 3]
            if victim == "QTSMTPCLTD":
                os.kill(server.job_pids(victim)[0], signal.SIGKILL)
                client_job_kills += 1
            elif victim == "QTSMTPSRVP":
                os.kill(server.job_pids(victim)[0], signal.SIGKILL)
            else:
                for job in server.job_pids("QTSMTPSRVP"):
                    for pid in children_named(job, victim):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert len(acknowledged) >= 60
    server.end()
    server.start("SVRJOBS(2)")
    queue = server.root / "queue"
    eventually(lambda: not any(os.listdir(queue / s) for s in ("incoming", "active", "deferred")),
               "the queue delivered", limit=180)
    server.end()

    seen: dict[str, int] = {}
    mail = server.root / "mail"
    for path in [*mail.glob("*/new/*"), *mail.glob("*/cur/*")]:
        data = path.read_bytes()
        ids = MESSAGE_ID.findall(data)
        assert len(ids) == 1, f"{path}: {len(ids)} Message-IDs"
        message_id = ids[0].decode()
        body = data.partition(b"\n\n")[2]
        assert body == body_of(message_id).replace(b"\r\n", b"\n"), \
            f"{path.name}: not the bytes of <{message_id}> alone ({len(body)} bytes)"
        seen[message_id] = seen.get(message_id, 0) + 1
    missing = sorted(acknowledged - set(seen))
    assert not missing, f"acknowledged and never delivered: {missing[:5]}"
    twice = sum(count - 1 for count in seen.values())
    assert twice <= client_job_kills, f"{twice} messages delivered twice"
    assert os.listdir(queue / "corrupt") == []
    assert os.listdir(queue / "tmp") == []
    spare = queue / "spare"
    for name in os.listdir(spare):
        assert qpool.is_slot(name), name
        assert qpool.is_spare((spare / name).lstat()), name


@contextmanager
def unwritable(path):
    """A directory nobody running the server may change: root needs the immutable
    attribute (as tests/functional/test_list_commands.py does)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o500)
        try:
            yield
        finally:
            path.chmod(mode)


def send(server, message_id: str) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.ehlo("review.test")
        client.mail("<>")
        client.rcpt("postmaster")
        code, reply = client.data(f"Message-ID: <{message_id}>\r\n\r\n".encode()
                                  + body_of(message_id))
    assert code == 250, reply


def test_a_pool_that_cannot_be_used_is_never_the_messages_failure(server) -> None:
    """spare/ refusing every rename (here: unwritable; a full disk refuses a directory
    entry the same way, ENOSPC): messages are still taken, a delivered message leaves
    the queue as when it was unlinked, once, and is never delivered again."""
    queue = server.root / "queue"
    spare = queue / "spare"
    mail = server.root / "mail"

    def delivered():
        return [*mail.glob("*/new/*"), *mail.glob("*/cur/*")]

    # A pool with spares in it: messages delivered, their files given back.
    for n in range(3):
        send(server, f"before-{n}@review.test")
    eventually(lambda: len(delivered()) == 3, "three delivered")
    eventually(lambda: any(qpool.is_slot(n) for n in os.listdir(spare)), "spares")
    with unwritable(spare):
        send(server, "taken@review.test")          # a spare cannot be taken: created
        eventually(lambda: len(delivered()) == 4, "the fourth delivered")
        eventually(lambda: not any(os.listdir(queue / s)
                                   for s in ("incoming", "active", "deferred")),
                   "the queue empty")
        # Ask for every waiting message now, as an operator would: nothing is waiting.
        server.run("wrksmtpq", "*RETRY", "MSGID(*ALL)", check=False)
        time.sleep(1)
    assert len(delivered()) == 4
    assert "TCP9999" not in server.joblog_text()
