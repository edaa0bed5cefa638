"""kill -9 of the client job (which gives delivered files back to queue/spare/) and of
the commit processes (which take them for new messages) under load: no acknowledged
message lost, none delivered twice because of the pool, no spare ever taken for a
message or a message's file for a spare (qtsmtp-queue(5), qtsmtp.queue.pool)."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import threading
import time
from pathlib import Path

from support import children_named, eventually

from qtsmtp.queue import pool as qpool

BODY = b"".join(b"line %04d of a message, long enough to take a while\r\n" % i
                for i in range(60))
MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)\r?$", re.MULTILINE)


def send_until(server, source: str, stop: threading.Event, acknowledged: dict,
               lock: threading.Lock) -> None:
    for n in range(600):                      # bounded; stopped after the last kill
        if stop.is_set():
            return
        message_id = f"<{source}-{n}@pool.test>"
        try:
            client = smtplib.SMTP("127.0.0.1", server.port, source_address=(source, 0),
                                  timeout=30)
            client.ehlo("pool.test")
            client.mail("<>")
            client.rcpt("postmaster")
            code, _ = client.data(f"Message-ID: {message_id}\r\n\r\n".encode() + BODY
                                  + b"END-OF-BODY\r\n")
            client.quit()
        except (smtplib.SMTPException, ConnectionError, OSError):
            continue                          # a killed process: no 250, nothing to check
        if code == 250:
            with lock:
                acknowledged[message_id] = n


def commit_processes(server) -> list[int]:
    return [c for job in server.job_pids("QTSMTPSRVP") for c in children_named(job, "QTSMTPQCOMMIT")]


def mailbox_files(root: Path) -> list[Path]:
    """Delivered messages (a Maildir's tmp/ holds what a killed delivery was writing)."""
    mail = root / "mail"
    return sorted(p for p in [*mail.glob("*/new/*"), *mail.glob("*/cur/*")] if p.is_file())


def test_kills_of_the_client_job_and_the_commit_processes_with_the_pool(server) -> None:
    acknowledged: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()
    threads = [threading.Thread(target=send_until,
                                args=(server, f"127.0.2.{i}", stop, acknowledged, lock))
               for i in range(1, 6)]
    for thread in threads:
        thread.start()
    client_job_kills = 0
    try:
        for round_number in range(6):             # three kills of each, spread over the run
            eventually(lambda: len(server.job_pids("QTSMTPCLTD")) == 1, "the client job")
            eventually(lambda: len(commit_processes(server)) >= 1, "a commit process")
            before = len(acknowledged)
            eventually(lambda before=before: len(acknowledged) >= before + 20, "some traffic",
                       limit=60)
            if round_number % 2 == 0:
                os.kill(server.job_pids("QTSMTPCLTD")[0], signal.SIGKILL)
                client_job_kills += 1
            else:
                for pid in commit_processes(server):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert len(acknowledged) >= 120
    # Taken back by rename: spares were used, and delivered files given back.
    spare = server.root / "queue" / "spare"
    assert any(qpool.is_slot(n) for n in os.listdir(spare))
    # End, start again (the recoveries run), let the client job deliver everything.
    server.end()
    server.start("SVRJOBS(2)")
    queue = server.root / "queue"
    eventually(lambda: not any(os.listdir(queue / s) for s in ("incoming", "active", "deferred")),
               "the queue delivered", limit=120)
    server.end()

    seen: dict[bytes, int] = {}
    for path in mailbox_files(server.root):
        data = path.read_bytes()
        ids = MESSAGE_ID.findall(data)
        assert len(ids) == 1, f"{path}: {len(ids)} messages in one file: {data[:700]!r}"
        assert data.replace(b"\r\n", b"\n").endswith(BODY.replace(b"\r\n", b"\n")
                                                     + b"END-OF-BODY\n"), path.name
        seen[ids[0]] = seen.get(ids[0], 0) + 1
    missing = [m for m in acknowledged if m.encode() not in seen]
    assert not missing, f"acknowledged and never delivered: {missing[:5]}"
    # A kill -9 of the client job may repeat the one recipient it was writing
    # (qtsmtp-queue(5)); the pool must add no other.
    twice = sum(count - 1 for count in seen.values())
    assert twice <= client_job_kills, f"{twice} messages delivered twice"
    assert os.listdir(queue / "corrupt") == []
    names = os.listdir(spare)
    assert len(names) <= qpool.LIMIT
    for name in names:
        assert qpool.is_slot(name), name                  # no half given-back file left
        assert qpool.is_spare((spare / name).lstat()), name
    assert os.listdir(queue / "tmp") == []
