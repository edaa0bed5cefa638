"""WRKSMTPQ (list the queue, retry now) and the queue runner (``qtsmtp runqueue``).

The queue runner is for a system where the server is not running, or from cron (as
``sendmail -q``): it takes the queue's delivery lock, picks up submissions, delivers
what is ready (with ``all_deferred``, every deferred message too) and ends. When the
client job holds the lock, the runner only wakes it: the job delivers.

``scheduled_run`` is what the shipped systemd timer (tools/systemd/qtsmtp-runqueue.*) or
a cron line starts every few minutes (``qtsmtp runqueue --scheduled``): sendmail's
``-q30m`` with the interval an attribute (CHGSMTPA RUNQINTV), so an operator changes it
without editing a unit. It runs the queue when RUNQINTV minutes have passed since its
last run, and does nothing at all while the client job is running (it delivers by
itself). WRKSMTPQ shows when the next run is.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from tabulate import tabulate

from qtsmtp.cl.binder import Bound
from qtsmtp.config import attributes
from qtsmtp.delivery import submit
from qtsmtp.delivery.engine import DeliveryEngine
from qtsmtp.delivery.job import take_delivery_lock
from qtsmtp.jobs.joblog import JobLog
from qtsmtp.messages import Message, escape
from qtsmtp.queue import format as qformat
from qtsmtp.queue import states as qstates
from qtsmtp.server.submitexits import SubmissionScreen
from qtsmtp.store.root import data_root

RUNNER_LOG = "QTSMTPQRUN"
LAST_RUN = ".queue-runner"          # in queue/: its time is the last scheduled run
DEFAULT_INTERVAL_MINUTES = 30


class _PlainLog:
    """The runner's job log: QSYSWRK/joblog/QTSMTPQRUN.log, appended."""

    def __init__(self, root: Path):
        self._log = JobLog(Path(root) / "QSYSWRK" / "joblog" / f"{RUNNER_LOG}.log")

    def send(self, msgid, *data):
        return self._log.send(msgid, *data)

    def write(self, text):
        self._log.write(text)


def run_queue(root: Path, all_deferred: bool = False, only: str | None = None,
              wake_client_job: bool = True) -> Message:
    """Deliver now; the TCP5037 summary, or TCP5038 when the client job does it (TCP6095
    when it runs and ``wake_client_job`` is false: nothing done)."""
    queue = qformat.prepare(root)
    submit.prepare(root)
    lock = take_delivery_lock(queue, wait=False)
    if lock is None:
        if not wake_client_job:
            return Message("TCP6095")
        _request_retry(queue, only if only else "*ALL") if all_deferred else None
        submit.wake(root)
        return Message("TCP5038")
    try:
        engine = DeliveryEngine(root, _PlainLog(root), job_number="000000")
        engine.recover()
        if all_deferred:
            engine.due = [(0.0 if only in (None, qid) else when, qid) for when, qid in engine.due]
        screen = SubmissionScreen(root, engine.log)     # the exit point, for submissions
        try:
            picked = submit.pickup(root, engine, screen)
        finally:
            screen.close()
        asyncio.run(engine.run_until_idle())
        return Message("TCP5037", picked, engine.delivered, engine.deferred_count, engine.bounced)
    finally:
        os.close(lock)


def interval_minutes(root: Path) -> int:
    value = attributes.load(root).get("RUNQINTV")
    return value if isinstance(value, int) else DEFAULT_INTERVAL_MINUTES


def last_scheduled_run(root: Path) -> float | None:
    try:
        return (qformat.queue_directory(root) / LAST_RUN).stat().st_mtime
    except OSError:
        return None


def next_scheduled_run(root: Path) -> float | None:
    """When the timer's next look will run the queue; None before its first run."""
    last = last_scheduled_run(root)
    return None if last is None else last + interval_minutes(root) * 60


def scheduled_run(root: Path) -> Message:
    """``qtsmtp runqueue --scheduled``: run the queue if RUNQINTV minutes have passed since
    the last scheduled run and the client job is not running; else say why not."""
    due = next_scheduled_run(root)
    if due is not None and time.time() < due:
        return Message("TCP6096", _clock(due), interval_minutes(root))
    queue = qformat.prepare(root)
    outcome = run_queue(root, wake_client_job=False)
    if outcome.id != "TCP6095":
        (queue / LAST_RUN).touch(mode=0o600)      # its time: this run
    return outcome


def _clock(when: float) -> str:
    return datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M:%S")


def _request_retry(queue: Path, name: str) -> None:
    (queue / qformat.RETRY).mkdir(exist_ok=True)
    (queue / qformat.RETRY / name).touch()


_LISTED_STATES = (qformat.MAILDROP, qformat.INCOMING, qformat.ACTIVE, qformat.DEFERRED,
                  qformat.CORRUPT)


def _where_now(queue: Path, queue_id: str, listed_in: str) -> tuple[str, dict] | None:
    """The message's state directory and envelope, looked up again where it was not
    found: the client job moves messages while WRKSMTPQ lists (incoming to active,
    active to deferred or away, deferred back to active). None: delivered meanwhile."""
    for state_name in (listed_in, *(s for s in _LISTED_STATES if s != listed_in)):
        try:
            return state_name, qformat.read_envelope(queue / state_name / queue_id)
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            return state_name, {}          # there, but not readable: a row all the same
    return None


def queue_rows(root: Path, only: str = "*ALL") -> list[list[str]]:
    queue = qformat.queue_directory(root)
    rows = []
    shown = set()              # a message that moved on is listed once, where it is now
    # The second look finds a message that moved into a state listed before it (deferred
    # back to active for its retry) while the first went through the others.
    for listed_in in _LISTED_STATES * 2:
        for queue_id in qstates.listing(queue, listed_in):
            if (only != "*ALL" and queue_id != only) or queue_id in shown:
                continue
            found = _where_now(queue, queue_id, listed_in)
            if found is None:
                continue
            state_name, envelope = found
            shown.add(queue_id)
            state = qstates.read_state(queue, queue_id)
            recipients = envelope.get("recipients", [])
            pending = [r for r in recipients if not state or
                       state.status(r) not in (qstates.SENT, qstates.FAILED)]
            reply = ""
            next_try = ""
            if state:
                replies = [state.recipients[r].get("reply", "") for r in pending if r in state.recipients]
                reply = replies[0] if replies else ""
                if state_name == qformat.DEFERRED:
                    next_try = datetime.fromtimestamp(state.next_attempt).strftime("%Y-%m-%d %H:%M:%S")
            rows.append([queue_id, state_name, envelope.get("sender", "") or "<>",
                         f"{len(pending)}/{len(recipients)}", str(state.attempts if state else 0),
                         next_try, " ".join(pending)[:60], reply[:60]])
    return rows


def runner_line(root: Path) -> str:
    """When the queue runner (systemd timer or cron, for a stopped server) runs next."""
    every = interval_minutes(root)
    due = next_scheduled_run(root)
    if due is None:
        return (f"Queue runner: every {every} minutes once its timer or cron line runs it; "
                "no run yet.")
    return (f"Queue runner: every {every} minutes; last run {_clock(last_scheduled_run(root))}, "
            f"next run {_clock(max(due, time.time()))} or the timer's first look after it.")


def wrksmtpq(bound: Bound) -> list[Message]:
    root = data_root()
    only = bound["MSGID"]
    if bound["OPTION"] == "*RETRY":
        if only != "*ALL" and not (qformat.queue_directory(root) / qformat.DEFERRED / only).exists() \
                and not any(r[0] == only for r in queue_rows(root, only)):
            raise escape("TCP5039", only)
        return [run_queue(root, all_deferred=True, only=None if only == "*ALL" else only)]
    rows = queue_rows(root, only)
    stamp = time.strftime("%m/%d/%y  %H:%M:%S")
    out = [f"{'Work with SMTP Queue':^78}", f"{'':56}{stamp}", ""]
    if rows:
        out.append(tabulate(rows, headers=["Queue ID", "State", "Sender", "Pending", "Tries",
                                           "Next try", "Recipients pending", "Last reply"],
                            tablefmt="plain"))
    else:
        out.append("No messages in the queue.")
    out += ["", runner_line(root)]
    sys.stdout.write("\n".join(out) + "\n")
    return [Message("TCP5040", len(rows))]
