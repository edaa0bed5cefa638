"""The client job (QTSMTPCLTD): waits on the queue for messages to deliver.

Delivery itself (mail router, MX, retries) is the delivery issue's work. Until then this
job is real but modest: it blocks reading the queue's notify FIFO (so WRKACTJOB shows it
in DEQW, measured, like IBM i's QTSMTPCLTD), and on each wake counts what waits in
incoming/ and says so in its job log.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from qtsmtp.server import queue as mailqueue
from qtsmtp.server.joblog import JobLog

LOG_EVERY_SECONDS = 1.0   # under load a wake per message: one log line a second is enough


class _Ending(Exception):
    pass


def _end(signum, frame):
    raise _Ending()


def run_delivery_job(root: Path, log: JobLog) -> int:
    directory = mailqueue.prepare(root)
    incoming = directory / mailqueue.INCOMING
    signal.signal(signal.SIGTERM, _end)
    signal.signal(signal.SIGINT, _end)
    # Read and write: the FIFO then never reads as end-of-file while no server job has
    # it open (between starts, or after one is killed).
    fd = os.open(directory / mailqueue.NOTIFY, os.O_RDWR | os.O_CLOEXEC)
    log.send("TCP3040", len(os.listdir(incoming)), incoming)
    last_logged = time.monotonic()
    try:
        while True:
            os.read(fd, 4096)           # blocks until a server job queues a message
            now = time.monotonic()
            if now - last_logged >= LOG_EVERY_SECONDS:
                log.send("TCP3040", len(os.listdir(incoming)), incoming)
                last_logged = now
    except _Ending:
        return 0
    finally:
        os.close(fd)
