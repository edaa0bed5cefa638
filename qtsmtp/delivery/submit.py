"""The client submission queue (the MSP model of sendmail's submit.cf, Postfix's
maildrop): how local programs hand mail to qtsmtp without root and without the server.

    queue/maildrop/       mode 2770, group qtsmtp (when that group exists): a submitter
                          needs only to be in the group; nothing is world-accessible
    queue/maildrop/ID     one submission, mode 0660, the queue file format with the
                          envelope keys sender, recipients, user

A submission is written to maildrop/.ID.tmp, fsynced, then renamed to maildrop/ID, so
the pickup never sees half a file. The pickup (the client job at once when it runs, else
``qtsmtp runqueue``) checks it like any other mail: the sender must be local, and must
be the address ADDUSRSMTP gave the Unix user who owns the file; recipients are
canonicalised as the server does. A good one becomes a queue file in incoming/ (with a
Received: line naming the user); a bad one is moved to corrupt/ and logged.
"""

from __future__ import annotations

import errno
import grp
import os
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

from qtsmtp.config.address import AddressRefused, canonical_recipient
from qtsmtp.config.submission import check_submission
from qtsmtp.config.users import address_of, profile_of_uid
from qtsmtp.delivery import dsn
from qtsmtp.queue import format as qformat
from qtsmtp.store.permissions import make_directory
from qtsmtp.queue import states as qstates
from qtsmtp.store import durable

SUBMIT_GROUP = os.environ.get("QTSMTP_SUBMIT_GROUP", "qtsmtp")
DIR_MODE, FILE_MODE = 0o2770, 0o660


def maildrop_directory(root: Path) -> Path:
    return qformat.queue_directory(root) / qformat.MAILDROP


def _group_id() -> int | None:
    try:
        return grp.getgrnam(SUBMIT_GROUP).gr_gid
    except KeyError:
        return None


def prepare(root: Path) -> Path:
    """Create maildrop/ (2770, the submit group) and let that group wake the client job."""
    queue = make_directory(qformat.queue_directory(root), qformat.QUEUE_MODE)
    directory = maildrop_directory(root)
    directory.mkdir(mode=0o770, exist_ok=True)
    gid = _group_id()
    try:
        if gid is not None:
            os.chown(directory, -1, gid)
        os.chmod(directory, DIR_MODE)
        fifo = queue / qformat.NOTIFY
        if gid is not None and fifo.exists():
            os.chown(fifo, -1, gid)
            os.chmod(fifo, 0o620)
    except PermissionError:
        pass                        # not ours to change: a submitter, not the owner
    return directory


def submit(root: Path, sender: str, recipients: list[str], content: bytes, user: str) -> str:
    """Write one submission durably; returns its ID. Any local user in the group may."""
    directory = maildrop_directory(root)
    if not directory.is_dir():
        directory = prepare(root)
    submission_id = f"{time.time_ns() // 1000:014X}{os.getpid():07X}S"
    envelope = {"sender": sender, "recipients": recipients, "user": user,
                "submitted": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    tmp = directory / f".{submission_id}.tmp"
    durable.write_file(tmp, directory / submission_id, (qformat.header(envelope), content), FILE_MODE)
    wake(root)
    return submission_id


def wake(root: Path) -> bool:
    """One byte in the notify FIFO: True when it went in (a client job reads it, or a
    server job's commit process holds the FIFO open and keeps it for the next one)."""
    try:
        fd = os.open(qformat.queue_directory(root) / qformat.NOTIFY,
                     os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False               # ENXIO: nobody reads (no client job); EACCES; ENOENT
    try:
        os.write(fd, b"s")
    except OSError as exc:
        if exc.errno != errno.EAGAIN:
            return False
    finally:
        os.close(fd)
    return True


def pickup(root: Path, engine, screen=None) -> int:
    """Move every submission into incoming/; returns how many were queued.

    ``screen(queue_id, user, sender, recipients, content)``, when given, is the exit
    point (qtsmtp.server.submitexits, passed down by the job or the runner that picks
    up): None lets the submission go; a 5xx reply refuses it and the submitter gets a
    notification; a 4xx reply leaves it in the maildrop for the next run."""
    directory = maildrop_directory(root)
    names = qstates.listing(qformat.queue_directory(root), qformat.MAILDROP)
    if not names:
        return 0
    if engine.routing is None:
        engine.load_configuration()
    queued = 0
    for name in names:
        path = directory / name
        try:
            owner = os.stat(path).st_uid
            envelope, content = qformat.read_queue_file(path)
            sender = str(envelope.get("sender", ""))
            profile = profile_of_uid(owner)
            _, _, domain = sender.rpartition("@")
            if not sender or "@" not in sender or not engine.routing.is_local(domain.lower()):
                raise qformat.NotAQueueFile(f"sender <{sender}> is not a local address")
            mapped = address_of(root, profile, engine.routing.system_name)
            if owner != 0 and (mapped is None or mapped.lower() != sender.lower()):
                raise qformat.NotAQueueFile(f"sender <{sender}> is not the address of user {profile}")
            recipients = []
            for raw in envelope["recipients"][:100]:
                recipients.append(canonical_recipient(str(raw)).address)
            if not recipients:
                raise qformat.NotAQueueFile("no recipients")
            # Submission control (qtsmtp.config.submission): the most specific profile decides.
            permitted, resource, deciding = check_submission(root, owner)
        except FileNotFoundError:
            continue
        except (qformat.NotAQueueFile, AddressRefused, UnicodeDecodeError, ValueError) as bad:
            os.replace(path, qformat.queue_directory(root) / qformat.CORRUPT / name)
            engine.log.send("TCP5021", name, str(bad))
            continue
        if not permitted:
            _refuse_submission(root, engine, name, profile, sender, recipients, content,
                               resource, deciding.name)
            path.unlink(missing_ok=True)
            continue
        refusal = screen(name, profile, sender, recipients, content) if screen else None
        if refusal is not None and refusal.startswith("4"):
            engine.log.send("TCP6098", name, profile, refusal)
            continue
        if refusal is not None:
            _refused_by_exit(engine, name, profile, sender, recipients, content, refusal)
            path.unlink(missing_ok=True)
            continue
        received = (f"Received: from local user {profile} (uid {owner})\r\n"
                    f"\tby {engine.routing.system_name} (qtsmtp) with LOCAL id {name};\r\n"
                    f"\t{format_datetime(datetime.now(timezone.utc))}\r\n").encode()
        engine.queue_message(sender, recipients, received + content,
                             helo=f"user {profile}")
        path.unlink(missing_ok=True)
        queued += 1
    return queued


def _refused_by_exit(engine, name: str, profile: str, sender: str, recipients: list[str],
                     content: bytes, reply: str) -> None:
    """An exit program refused it: logged, and the submitter notified as above."""
    engine.log.send("TCP6097", name, profile, reply)
    words = reply.split()
    status = words[1] if len(words) > 1 and words[1][:2] == "5." else "5.7.1"
    failures = [dsn.Failure(r, status, f"submission refused by exit program: {reply}")
                for r in recipients]
    envelope = {"id": name, "sender": sender, "recipients": recipients}
    engine.queue_message("", [sender], dsn.build(engine.routing.system_name, envelope,
                                                 content, failures))


def _refuse_submission(root: Path, engine, name: str, profile: str, sender: str,
                       recipients: list[str], content: bytes, resource: str,
                       deciding: str) -> None:
    """Log the refusal and tell the submitter, by a delivery status notification to the
    sender (a local address of the submitting user: checked above)."""
    engine.log.send("TCP6048", name, profile, resource, deciding)
    reason = f"submission refused: resource {resource} denied by profile {deciding}"
    failures = [dsn.Failure(r, "5.7.1", reason) for r in recipients]
    envelope = {"id": name, "sender": sender, "recipients": recipients}
    notification = dsn.build(engine.routing.system_name, envelope, content, failures)
    engine.queue_message("", [sender], notification)
