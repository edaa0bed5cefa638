"""Queue states as named directories, and the per-message state file (qtsmtp-queue(5)).

The server job puts whole files in incoming/. From there the client job moves a message
by rename only, so it is always in exactly one state directory:

    incoming/ID   accepted, not yet looked at
    active/ID     being delivered now (after a crash: delivered again, at once)
    deferred/ID   some recipients wait for a retry; state/ID says which and when
    corrupt/ID    not a queue file, or a submission that was refused; kept for a person
    state/ID      per-recipient state: JSON, written to a temporary file, fsynced, renamed

A message leaves the queue (its file and its state are unlinked) only when every
recipient was accepted by the next hop (250) or failed and its sender was told.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from qtsmtp.queue.format import (
    ACTIVE,
    DEFERRED,
    INCOMING,
    MAILDROP,
    RETRY,
    STATE,
    NotAQueueFile,
    read_envelope,
)
from qtsmtp.store.durable import write_file

SENT, FAILED, WAITING = "sent", "failed", "deferred"   # a recipient's delivery status

def move(queue: Path, queue_id: str, source: str, target: str) -> Path | None:
    """Rename ID from one state directory to another; None when it is not in ``source``."""
    try:
        os.rename(queue / source / queue_id, queue / target / queue_id)
    except FileNotFoundError:
        return None
    return queue / target / queue_id


@dataclass
class MessageState:
    """What the client job knows about one message between attempts."""
    recipients: dict[str, dict] = field(default_factory=dict)   # address -> status record
    attempts: int = 0                 # attempts that left a recipient deferred
    first_attempt: float = 0.0
    next_attempt: float = 0.0
    dsn_sent: list[str] = field(default_factory=list)

    def status(self, address: str) -> str:
        return self.recipients.get(address, {}).get("status", "")

    def to_json(self) -> str:
        return json.dumps({"recipients": self.recipients, "attempts": self.attempts,
                           "first_attempt": self.first_attempt,
                           "next_attempt": self.next_attempt, "dsn_sent": self.dsn_sent},
                          separators=(",", ":"))


def read_state(queue: Path, queue_id: str) -> MessageState | None:
    try:
        data = json.loads((queue / STATE / queue_id).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return None          # torn by hand: delivered again, like a crash in flight
    return MessageState(data.get("recipients", {}), int(data.get("attempts", 0)),
                        float(data.get("first_attempt", 0)), float(data.get("next_attempt", 0)),
                        list(data.get("dsn_sent", [])))


def write_state(queue: Path, queue_id: str, state: MessageState) -> None:
    directory = queue / STATE
    write_file(directory / f".{queue_id}.tmp", directory / queue_id, (state.to_json().encode(),),
               0o600, exclusive=False)


def note_state(queue: Path, queue_id: str, state: MessageState) -> None:
    """write_state without the fsyncs: what a recipient delivered a moment ago changes,
    written as soon as it is so (renamed into place whole). A client job killed right
    after then does not deliver that recipient again; only a crash of the whole system
    before the next durable write can make it do so (a duplicate, never a loss)."""
    directory = queue / STATE
    tmp = directory / f".{queue_id}.note"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, state.to_json().encode())
    finally:
        os.close(fd)
    os.rename(tmp, directory / queue_id)


def remove(queue: Path, queue_id: str, where: str = ACTIVE) -> None:
    """The message is done: its file first, then its state (a state file without a
    message is ignored and swept)."""
    (queue / where / queue_id).unlink(missing_ok=True)
    (queue / STATE / queue_id).unlink(missing_ok=True)


def listing(queue: Path, state: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(queue / state) if not n.startswith("."))
    except FileNotFoundError:
        return []


def now() -> float:
    return time.time()


def discard_waiting(queue: Path) -> int:
    """CHGSMTPA COLDSTART(*YES), at start, before any job runs: every message not yet
    delivered (incoming, active, deferred, and the submissions in maildrop) is unlinked,
    with its state and retry marks; corrupt/ is left for a person. Returns how many
    messages were discarded."""
    discarded = 0
    for where in (INCOMING, ACTIVE, DEFERRED, MAILDROP, STATE, RETRY):
        for name in listing(queue, where):
            try:
                (queue / where / name).unlink()
            except FileNotFoundError:
                continue
            discarded += where not in (STATE, RETRY)
    return discarded


def run_now_for(queue: Path, wanted) -> int:
    """ETRN: make every deferred message due now that has a recipient still waiting whose
    domain ``wanted(domain)`` takes, with the retry mark WRKSMTPQ OPTION(*RETRY) leaves
    (the caller wakes the client job). Returns how many messages were marked."""
    marked = 0
    for queue_id in listing(queue, DEFERRED):
        try:
            envelope = read_envelope(queue / DEFERRED / queue_id)
        except (OSError, NotAQueueFile):
            continue                      # delivered or moved meanwhile, or not ours
        state = read_state(queue, queue_id) or MessageState()
        waiting = [r for r in envelope["recipients"]
                   if isinstance(r, str) and state.status(r) not in (SENT, FAILED)]
        if any(wanted(r.rpartition("@")[2]) for r in waiting):
            (queue / RETRY / queue_id).touch()
            marked += 1
    return marked
