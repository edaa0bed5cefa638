"""Crash leftovers of queue/tmp, swept when the server starts (qtsmtp-queue(5)).

A file in tmp/ is a message being written: a server job's commit process, or the
client job or a queue run queueing a notification, writes it there, fsyncs it and
renames it into incoming/ before anyone is told it is queued. One whose writer was
killed stays in tmp/ for ever: never acknowledged, garbage by definition. At start, no
server job of this data root runs yet, but a writer of an earlier start may still be
ending, and a queue run may be writing now: a file some live process holds open is
left alone; every other one goes.
"""

from __future__ import annotations

import os
from pathlib import Path

from qtsmtp.queue.format import TMP, queue_directory


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


def sweep_tmp(root: Path) -> int:
    """Remove the files of queue/tmp no live process holds open; how many went."""
    directory = queue_directory(root) / TMP
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0
    if not names:
        return 0
    held = _held_open(directory.resolve())
    removed = 0
    for name in names:
        if name in held:
            continue
        try:
            os.unlink(directory / name)
            removed += 1
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            continue
    return removed
