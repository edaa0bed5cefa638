"""Crash leftovers of queue/tmp, swept when the server starts (qtsmtp-queue(5)).

A file in tmp/ is a message being written: a server job's commit process, or the
client job or a queue run queueing a notification, writes it there, fsyncs it and
renames it into incoming/ before anyone is told it is queued. One whose writer was
killed stays in tmp/ for ever: never acknowledged, garbage by definition. At start, no
server job of this data root runs yet, but a writer of an earlier start may still be
ending, and a queue run may be writing now: a file some live process holds open is
left alone; every other one goes.

But not one that is the same file as a queued message of its name with one link
(st_nlink 1, two names). The commit process renames tmp/ID into incoming/ and fsyncs
incoming/ only: on ext4 without a journal, a crash before tmp/'s own block is written
back leaves the old name there too, and a start without e2fsck finds two names for one
inode counted once. Removing tmp/ID then would free the inode of a message that was
acknowledged, and incoming/ID would name a freed inode: both names are left, and the
caller says that the file system needs e2fsck (TCP3080).
"""

from __future__ import annotations

import os
from pathlib import Path

from qtsmtp.queue.format import ACTIVE, CORRUPT, DEFERRED, INCOMING, TMP, queue_directory

# Where a queued message of the same name (its queue ID) may be by now.
_QUEUED = (INCOMING, ACTIVE, DEFERRED, CORRUPT)


def _held_open(directory: Path) -> set[str]:
    """Names in ``directory`` that a live process has open (every process this user may
    look into: its own, or all for root)."""
    prefix = f"{directory}/"
    held = set()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return held
    for pid in pids:
        fds = f"/proc/{pid}/fd"
        try:
            names = os.listdir(fds)
        except OSError:
            continue                   # gone, or another user's
        for fd in names:
            try:
                target = os.readlink(f"{fds}/{fd}")
            except OSError:
                continue
            if target.startswith(prefix):
                held.add(target[len(prefix):])
    return held


def sweep_tmp(root: Path) -> tuple[int, list[str]]:
    """Remove the files of queue/tmp no live process holds open. Returns how many went,
    and the names left because each is a second name, counted once, of a queued
    message (the module's docstring)."""
    queue = queue_directory(root)
    directory = queue / TMP
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0, []
    if not names:
        return 0, []
    held = _held_open(directory.resolve())
    removed, uncounted = 0, []
    for name in names:
        if name in held:
            continue
        if _uncounted_second_name(queue, name):
            uncounted.append(name)
            continue
        try:
            os.unlink(directory / name)
            removed += 1
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            continue
    return removed, uncounted


def _uncounted_second_name(queue: Path, name: str) -> bool:
    try:
        left = os.stat(queue / TMP / name, follow_symlinks=False)
    except OSError:
        return False
    if left.st_nlink > 1:
        return False          # every name counted: removing this one frees nothing
    for state in _QUEUED:
        try:
            queued = os.stat(queue / state / name, follow_symlinks=False)
        except OSError:
            continue
        if (queued.st_dev, queued.st_ino) == (left.st_dev, left.st_ino):
            return True
    return False
