"""The client job (QTSMTPCLTD): delivers the queue (qtsmtp.delivery.engine).

Idle, it blocks in read() on the queue's notify FIFO, so WRKACTJOB measures it in DEQW as
IBM i shows its QTSMTPCLTD; a server job's byte, a submission, WRKSMTPQ OPTION(*RETRY) or
a retry coming due wakes it (a timer thread writes a byte to the same FIFO). Awake, it
runs the delivery loop in this thread until nothing is ready and nothing is in flight:
WRKACTJOB then measures RUN while it works.

The FIFO at the queue's path may be removed or replaced while the job holds it open (an
operator's clean-up, a restore): the job would then wait on a FIFO that no commit process
writes to any more. So it wakes at least every RESCAN_SECONDS, idle too, and on every
wake-up makes the FIFO again if there is none, opens the one at the path if it is not
the one it holds (TCP3081), and lists incoming/.

While it runs it holds the queue's delivery lock, so the queue runner (``qtsmtp
runqueue``) leaves the queue to it.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import threading
import time
from pathlib import Path

from qtsmtp.delivery import etrnclient, submit
from qtsmtp.delivery.engine import RESCAN_SECONDS, DeliveryEngine
from qtsmtp.delivery.routing import Routing
from qtsmtp.jobs.joblog import JobLog
from qtsmtp.queue import format as qformat
from qtsmtp.queue import states as qstates
from qtsmtp.queue.notifyfifo import HeldFifo, open_fifo

CONNECTION_LINGER_SECONDS = 1.0   # open connections kept this long after the queue empties


class _Ending(Exception):
    pass


def take_delivery_lock(queue: Path, wait: bool) -> int | None:
    """The queue's delivery lock (one deliverer at a time); None when someone has it."""
    fd = os.open(queue / qformat.LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def run_delivery_job(root: Path, log: JobLog, job_number: str | None = None,
                     screen=None) -> int:
    """``screen``: the exit point for submissions (submit.pickup), or None."""
    if job_number is None:          # the log is QSYSWRK/joblog/NNNNNN.QTSMTPCLTD.log
        job_number = Path(log.path).name.split(".")[0]
    queue = qformat.prepare(root)
    submit.prepare(root)
    state = {"waiting": False, "ending": False}
    engine: DeliveryEngine | None = None

    def end(signum, frame):
        state["ending"] = True
        if state["waiting"]:
            raise _Ending()
        if engine is not None:
            engine.stopping = True
            engine.notify()

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, end)
    lock = take_delivery_lock(queue, wait=True)      # a queue runner finishes first
    # Read and write: the FIFO never reads as end-of-file while no server job has it open,
    # and the timer below can write its wake-up byte into it.
    fifo = HeldFifo(queue / qformat.NOTIFY)
    fifo.hold(_open_at_start(fifo.path))
    engine = DeliveryEngine(root, log, job_number=job_number)
    engine.recover()
    etrnclient.start(Routing(root), log)          # ETRNCLT(*YES): ask the hub for our mail
    log.send("TCP3040", len(qstates.listing(queue, qformat.INCOMING)), queue / qformat.INCOMING)
    loop = asyncio.new_event_loop()
    try:
        while not state["ending"]:
            if _follow(root, fifo):
                log.send("TCP3081", fifo.path)
            fd = fifo.fd
            picked = submit.pickup(root, engine, screen)
            if picked:
                log.send("TCP5030", picked)
            engine.take_retry_requests()
            if engine.has_work() or picked:
                os.set_blocking(fd, False)
                loop.run_until_complete(engine.run_until_idle(fd, CONNECTION_LINGER_SECONDS))
                os.set_blocking(fd, True)
                _log_totals(log, engine)
                continue
            due = engine.seconds_to_next_due()
            _wait_for_work(fd, RESCAN_SECONDS if due is None else min(due, RESCAN_SECONDS),
                           state)
    except _Ending:
        pass
    finally:
        loop.close()
        fifo.release()
        if lock is not None:
            os.close(lock)
        if screen is not None:
            screen.close()
    return 0


def _open_at_start(path: str) -> int:
    """The FIFO at the path; with something else there (a file a restore put there: it
    is not written to, and asyncio cannot wait on it), a pipe of the job's own, which
    its timer wakes: the job then lists incoming/ every RESCAN_SECONDS, and follows a
    FIFO put at the path (_follow)."""
    try:
        fd = open_fifo(path, os.O_RDWR)
    except OSError:
        reader, writer = os.pipe()
        try:
            # One descriptor that reads and writes, as a FIFO opened O_RDWR (Linux).
            fd = os.open(f"/proc/self/fd/{reader}", os.O_RDWR | os.O_CLOEXEC)
        finally:
            os.close(reader)
            os.close(writer)
    os.set_blocking(fd, True)
    return fd


def _follow(root: Path, fifo: HeldFifo) -> bool:
    """Hold the FIFO at the queue's path, made again if there is none (with the modes the
    job's start gives it); True when that is another than the one held."""
    if not os.path.exists(fifo.path):
        qformat.prepare(root)
        submit.prepare(root)
    if not fifo.moved():
        return False
    try:
        fd = open_fifo(fifo.path, os.O_RDWR)
    except OSError:
        return False               # gone again, or not a FIFO: the next wake-up looks again
    os.set_blocking(fd, True)
    fifo.release()
    fifo.hold(fd)
    return True


def _wait_for_work(fd: int, seconds: float | None, state: dict) -> None:
    """Block in read() on the FIFO (DEQW) until a byte comes; a retry falling due sends
    its own byte from a timer thread."""
    timer = None
    if seconds is not None:
        def wake():
            try:
                os.write(fd, b"t")
            except OSError:
                pass
        timer = threading.Timer(max(seconds, 0.001), wake)
        timer.daemon = True
        timer.start()
    state["waiting"] = True
    try:
        if state["ending"]:
            raise _Ending()
        os.read(fd, 65536)
    finally:
        state["waiting"] = False
        if timer is not None:
            timer.cancel()


_last_totals = {"at": 0.0}


def _log_totals(log: JobLog, engine: DeliveryEngine) -> None:
    log.send("TCP5031", engine.delivered, engine.deferred_count, engine.bounced)
    _last_totals["at"] = time.monotonic()
