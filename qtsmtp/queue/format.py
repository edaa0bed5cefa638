"""The queue's one definition: its directories, and the queue file format (qtsmtp-queue(5)).

Under the data root, Postfix style:

    queue/tmp/ID        being written by a server job; never read by anyone else
    queue/incoming/ID   accepted: fsynced file, fsynced directory entry
    queue/active/ID     being delivered now (after a crash: delivered again, at once)
    queue/deferred/ID   some recipients wait for a retry; state/ID says which and when
    queue/corrupt/ID    not a queue file, or a submission that was refused; kept for a person
    queue/state/ID      per-recipient delivery state (JSON)
    queue/retry/        marks of WRKSMTPQ's "retry now"
    queue/quarantine/   messages a mail filter kept (FTRACN(*KEEP)), qtsmtp.queue.quarantine
    queue/maildrop/     local submissions (qtsmtp.delivery.submit), group-writable
    queue/.notify       a FIFO: one byte per message put in incoming/ wakes QTSMTPCLTD

A queue file is one header line, ``QTSMTPQ1 `` + a JSON envelope, then the message
exactly as it will be delivered (CRLF line ends). Besides make_envelope's keys, a server
job may write ``trusted``, ``smtputf8``, ``ret``, ``envid`` and ``dsn`` (qtsmtp.queue.dsnfields). The server jobs write it
(qtsmtp.queue.writer); the client job moves it between states (qtsmtp.queue.states).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from qtsmtp.store.permissions import make_directory

MAGIC = b"QTSMTPQ1 "
TMP, INCOMING, ACTIVE, DEFERRED = "tmp", "incoming", "active", "deferred"
STATE, CORRUPT, MAILDROP, RETRY = "state", "corrupt", "maildrop", "retry"
NOTIFY = ".notify"
LOCK = ".delivery.lock"
# The directories the jobs own; maildrop/ is the submitters' and made with its own modes.
QUEUE_MODE = 0o755      # traversed by the submit group to maildrop/; its job directories are 0700
JOB_DIRECTORIES = (TMP, INCOMING, ACTIVE, DEFERRED, STATE, CORRUPT, RETRY)


def queue_directory(root: Path) -> Path:
    return Path(root) / "queue"


def prepare(root: Path) -> Path:
    """Create every job directory and the FIFO (idempotent); returns the queue directory."""
    queue = make_directory(queue_directory(root), QUEUE_MODE)
    for name in JOB_DIRECTORIES:
        make_directory(queue / name, 0o700)      # whatever the umask
    try:
        os.mkfifo(queue / NOTIFY, 0o600)
    except FileExistsError:
        pass
    return queue


def make_envelope(queue_id: str, arrival: str, *, client: str, client_port: int, helo: str,
                  protocol: str, sender: str, recipients: list[str], written: list[str],
                  size: int, server_job: str) -> dict:
    """The envelope of a queue file: who sent what to whom, and how it came in.
    ``written``: the recipients as the client wrote them (before canonicalisation)."""
    return {"id": queue_id, "arrival": arrival, "client": client, "client_port": client_port,
            "helo": helo, "protocol": protocol, "sender": sender, "recipients": recipients,
            "written": written, "size": size, "server_job": server_job}


# json.dumps with any option makes a new JSONEncoder per call: one, made once (a server
# job writes a header for every message).
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


def header(envelope: dict) -> bytes:
    """The queue file's first line: the envelope the message is followed by."""
    return MAGIC + _compact_json(envelope).encode() + b"\n"


# A header written before the message's size is known (a message spooled as it arrives,
# qtsmtp.server.committer) has room for any size: the final header, written over it in
# place, is padded with blanks to the same length, which JSON allows after the object.
SIZE_ROOM = 12


def reserved_header(envelope: dict) -> bytes:
    """The first line of a queue file whose size is not known yet: ``header`` with
    ``size`` 0 and room for the real one."""
    line = header({**envelope, "size": 0})
    return line[:-1] + b" " * SIZE_ROOM + b"\n"


def final_header(envelope: dict, length: int) -> bytes:
    """``header(envelope)`` padded to ``length`` octets, to be written over the
    reserved one."""
    line = header(envelope)
    if len(line) > length:
        raise ValueError(f"the envelope outgrew its reserved header: {len(line)} > {length}")
    return line[:-1] + b" " * (length - len(line)) + b"\n"


class NotAQueueFile(ValueError):
    pass


def read_queue_file(path: Path) -> tuple[dict, bytes]:
    """(envelope, message) of a queue file; NotAQueueFile when it is not one."""
    with open(path, "rb") as f:
        envelope = _envelope(path, f.readline())
        return envelope, f.read()


def read_envelope(path: Path) -> dict:
    """The envelope alone (WRKSMTPQ): the message is not read."""
    with open(path, "rb") as f:
        return _envelope(path, f.readline())


def _envelope(path: Path, first: bytes) -> dict:
    if not first.startswith(MAGIC) or not first.endswith(b"\n"):
        raise NotAQueueFile(f"{path.name}: no QTSMTPQ1 header line")
    try:
        envelope = json.loads(first[len(MAGIC):])
    except ValueError as bad:
        raise NotAQueueFile(f"{path.name}: envelope is not JSON: {bad}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("recipients"), list):
        raise NotAQueueFile(f"{path.name}: envelope has no recipients list")
    return envelope
