"""The quarantine: messages a mail filter kept (CHGSMTPA FTRACN(*KEEP)), qtsmtp-queue(5).

    queue/quarantine/ID          the queue file; its envelope has a "quarantine" member
    queue/quarantine/ID.reason   JSON: when, which filter entry matched what, the envelope

The server job commits a kept message like any other (durable before its 250), with the
filter's reason in its envelope; the client job, finding that reason, moves the file
here instead of delivering it (``take``), after writing the reason file, so every
message listed has its reason. WRKSMTPQTN releases a message by writing it again into
incoming/ without the reason (the client job then delivers it as any other), or deletes
it; the message leaves quarantine/ by one rename or unlink, so two operators releasing
it at once release it once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from qtsmtp.queue.format import INCOMING, TMP, header, queue_directory, read_envelope
from qtsmtp.queue.writer import QueueWriter
from qtsmtp.store.durable import fsync_directory, write_file

QUARANTINE = "quarantine"
REASON = ".reason"
KEY = "quarantine"            # the envelope member that sends a message here
_QUEUE_ID = re.compile(r"[0-9A-F]{1,64}")


def directory(root: Path) -> Path:
    return queue_directory(root) / QUARANTINE


def prepare(root: Path) -> Path:
    path = directory(root)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def take(root: Path, queue_id: str, path: Path, envelope: dict) -> Path:
    """Move the queue file at ``path`` (the client job's active/ID) into the quarantine,
    its reason file first; both durable."""
    quarantine = prepare(root)
    reason = dict(envelope.get(KEY) or {})
    reason["envelope"] = {k: v for k, v in envelope.items() if k != KEY}
    write_file(quarantine / f".{queue_id}.tmp", quarantine / f"{queue_id}{REASON}",
               (json.dumps(reason, ensure_ascii=True, indent=1).encode() + b"\n",), 0o600,
               exclusive=False)
    final = quarantine / queue_id
    os.rename(path, final)
    fsync_directory(quarantine)
    return final


@dataclass
class Kept:
    queue_id: str
    envelope: dict
    reason: dict
    size: int


def listing(root: Path, only: str = "*ALL") -> list[Kept]:
    quarantine = directory(root)
    try:
        names = sorted(os.listdir(quarantine))
    except FileNotFoundError:
        return []
    kept = []
    for name in names:
        if not _QUEUE_ID.fullmatch(name) or (only != "*ALL" and name != only):
            continue
        path = quarantine / name
        try:
            envelope = read_envelope(path)
            size = path.stat().st_size
        except (OSError, ValueError):
            continue              # released or deleted meanwhile, or not a queue file
        kept.append(Kept(name, envelope, read_reason(root, name), size))
    return kept


def read_reason(root: Path, queue_id: str) -> dict:
    try:
        reason = json.loads((directory(root) / f"{queue_id}{REASON}").read_text())
    except (OSError, ValueError):
        return {"reason": "(reason file missing or not readable)"}
    return reason if isinstance(reason, dict) else {"reason": str(reason)}


def release(root: Path, queue_id: str) -> bool:
    """Write the message into incoming/ without its quarantine reason, durably, and wake
    the client job; False when it is not (or no longer) in the quarantine."""
    if not _QUEUE_ID.fullmatch(queue_id):
        return False
    queue = queue_directory(root)
    kept = directory(root) / queue_id
    try:
        source = open(kept, "rb")
    except FileNotFoundError:
        return False
    writer = QueueWriter(root)
    try:
        with source:
            envelope = read_envelope(kept)
            envelope.pop(KEY, None)
            source.readline()
            try:
                # O_EXCL on tmp/ID: of two releases at once, one writes, one is told no.
                fd = writer.write_tmp(queue_id, (header(envelope),))
            except FileExistsError:
                return False
            try:
                with os.fdopen(os.dup(fd), "wb") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
                os.fsync(fd)
            except BaseException:
                writer.discard_tmp(queue_id)
                raise
            finally:
                os.close(fd)
        # In incoming/ (durable) before it leaves the quarantine: a crash between the
        # two leaves it in both (a duplicate), never in neither.
        os.rename(queue / TMP / queue_id, queue / INCOMING / queue_id)
        fsync_directory(queue / INCOMING)
        kept.unlink(missing_ok=True)
        (directory(root) / f"{queue_id}{REASON}").unlink(missing_ok=True)
        fsync_directory(directory(root))
        writer.notify()
    finally:
        writer.close()
    return True


def delete(root: Path, queue_id: str) -> bool:
    if not _QUEUE_ID.fullmatch(queue_id):
        return False
    try:
        (directory(root) / queue_id).unlink()
    except FileNotFoundError:
        return False
    (directory(root) / f"{queue_id}{REASON}").unlink(missing_ok=True)
    fsync_directory(directory(root))
    return True
